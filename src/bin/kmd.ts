#!/usr/bin/env node
/** `kmd` entry point: the local daemon, normally started on demand by `km`. */
import { resolveStateDir } from '../config/paths.ts';
import { toErrorBody } from '../core/errors.ts';
import { runKmd } from '../daemon/index.ts';

try {
  await runKmd({
    stateDir: resolveStateDir(process.env),
    logStream: process.stderr,
    debug: process.env.KMD_DEBUG === '1' || process.argv.includes('--debug'),
  });
  process.exitCode = 0;
} catch (e) {
  const body = toErrorBody(e);
  process.stderr.write(`kmd: error: ${body.message}\n${body.hint ? `  hint: ${body.hint}\n` : ''}`);
  process.exitCode = 1;
}
