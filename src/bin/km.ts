#!/usr/bin/env node
/** `km` entry point: the only place that calls process.exit. */
import { enableBundleCompileCache } from '../core/compile-cache.ts';

enableBundleCompileCache();
const { runCli } = await import('../cli/main.ts');
const code = await runCli(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
