#!/usr/bin/env node
/** `kmd` entry point: the local daemon, normally started on demand by `km`. */
import { enableBundleCompileCache } from '../core/compile-cache.ts';

enableBundleCompileCache();
const { resolveStateDir } = await import('../config/paths.ts');
const { toErrorBody } = await import('../core/errors.ts');
const { runKmd } = await import('../daemon/index.ts');

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
