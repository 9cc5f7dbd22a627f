/**
 * km's small C helpers (native/*.c: km-bpf, km-spawn), built into `.toolchain/bin/` by
 * ./setup, or here when missing or older than their source (with `$CC`, default `cc`).
 * `installed` only looks: the latency-sensitive paths (km exec) never compile.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { INSTALL_ROOT } from '../../core/install-root.ts';

export type NativeHelper = 'km-bpf' | 'km-spawn';

const source = (name: NativeHelper): string => `${INSTALL_ROOT}native/${name}.c`;
const built = (name: NativeHelper): string => `${INSTALL_ROOT}.toolchain/bin/${name}`;
const mtime = (p: string): number => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/** The built helper when it exists and is not older than its source, else null. */
export function installedHelper(name: NativeHelper): string | null {
  const bin = built(name);
  const b = mtime(bin);
  return b >= 0 && b >= mtime(source(name)) ? bin : null;
}

/** The helper binary, compiled when missing or older than its source; else why not. */
export function nativeHelper(name: NativeHelper): { path: string } | { reason: string } {
  const bin = built(name);
  const src = source(name);
  if (installedHelper(name) !== null) return { path: bin };
  if (!existsSync(src)) return existsSync(bin) ? { path: bin } : { reason: `the ${name} helper is missing (${src})` };
  const cc = process.env.CC ?? 'cc';
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    mkdirSync(`${INSTALL_ROOT}.toolchain/bin`, { recursive: true });
  } catch (e) {
    return { reason: `cannot create ${INSTALL_ROOT}.toolchain/bin for the ${name} helper: ${(e as Error).message}` };
  }
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', tmp, src], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? ((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `no C compiler (${cc})` : r.error.message) : (r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`);
    return { reason: `cannot build the ${name} helper: ${why}; run ./setup with a C compiler installed` };
  }
  try {
    renameSync(tmp, bin);
  } catch (e) {
    return { reason: `cannot install the ${name} helper at ${bin}: ${(e as Error).message}` };
  }
  return { path: bin };
}
