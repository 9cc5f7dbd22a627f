#!/usr/bin/env node
/** `km` entry point: the only place that calls process.exit. */
import { runCli } from '../cli/main.ts';

const code = await runCli(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
