/**
 * km's small C helpers (native/*.c), built by ./setup, or here on first use when missing or
 * older than their source (with `$CC`, default `cc`):
 *
 * - executables in `.toolchain/bin/`: km-bpf (BPF connect gatekeeper), km-spawn (start in a
 *   cgroup), km-client (the CLI's native fast path), km-setup (sandbox setup steps);
 * - Node-API addons in `.toolchain/lib/<name>.node` (built against the headers shipped with
 *   the project's Node.js): km-relay (the gateway's splice(2) tunnel relay), km-scan (the
 *   usage meter's substring search and SSE gate scan).
 *
 * `installed*` only looks: latency-sensitive paths (km exec, a tunnel) never compile.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { INSTALL_ROOT } from '../core/install-root.ts';

export const NATIVE_HELPERS = ['km-bpf', 'km-spawn', 'km-client', 'km-setup'] as const;
export const NATIVE_ADDONS = ['km-relay', 'km-scan'] as const;
export type NativeHelper = (typeof NATIVE_HELPERS)[number];
export type NativeAddon = (typeof NATIVE_ADDONS)[number];

type Built = { path: string } | { reason: string };

const source = (name: string): string => `${INSTALL_ROOT}native/${name}.c`;
const helperPath = (name: NativeHelper): string => `${INSTALL_ROOT}.toolchain/bin/${name}`;
const addonPath = (name: NativeAddon): string => `${INSTALL_ROOT}.toolchain/lib/${name}.node`;
const mtime = (p: string): number => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/** Where the Node.js headers are: beside the running node binary (the npm node package ships them). */
export function nodeIncludeDir(): string | null {
  const dir = join(dirname(dirname(process.execPath)), 'include', 'node');
  return existsSync(join(dir, 'node_api.h')) ? dir : null;
}

function fresh(bin: string, src: string): boolean {
  const b = mtime(bin);
  return b >= 0 && b >= mtime(src);
}

/** The built helper when it exists and is not older than its source, else null. */
export function installedHelper(name: NativeHelper): string | null {
  return fresh(helperPath(name), source(name)) ? helperPath(name) : null;
}

/** The built addon when it exists and is not older than its source, else null. */
export function installedAddon(name: NativeAddon): string | null {
  return fresh(addonPath(name), source(name)) ? addonPath(name) : null;
}

function compile(name: string, out: string, extra: string[]): Built {
  const src = source(name);
  if (fresh(out, src)) return { path: out };
  if (!existsSync(src)) return existsSync(out) ? { path: out } : { reason: `the ${name} helper is missing (${src})` };
  const cc = process.env.CC ?? 'cc';
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (e) {
    return { reason: `cannot create ${dirname(out)} for the ${name} helper: ${(e as Error).message}` };
  }
  const r = spawnSync(cc, ['-O2', '-Wall', ...extra, '-o', tmp, src], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? ((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `no C compiler (${cc})` : r.error.message) : (r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`);
    return { reason: `cannot build the ${name} helper: ${why}; run ./setup with a C compiler installed` };
  }
  try {
    renameSync(tmp, out);
  } catch (e) {
    return { reason: `cannot install the ${name} helper at ${out}: ${(e as Error).message}` };
  }
  return { path: out };
}

/** The helper binary, compiled when missing or older than its source; else why not. */
export function nativeHelper(name: NativeHelper): Built {
  return compile(name, helperPath(name), []);
}

/** The addon, compiled when missing or older than its source; else why not. */
export function nativeAddon(name: NativeAddon): Built {
  const inc = nodeIncludeDir();
  if (inc === null && installedAddon(name) === null) return { reason: `no Node.js headers beside ${process.execPath} to build the ${name} addon` };
  return compile(name, addonPath(name), ['-shared', '-fPIC', '-pthread', ...(inc ? [`-I${inc}`] : [])]);
}

/**
 * Brings every helper and addon up to date (each compiled only when missing or older than its
 * source): what was rebuilt, and why any could not be.
 */
export function buildNative(): Array<{ name: string; rebuilt: boolean; reason?: string }> {
  const out: Array<{ name: string; rebuilt: boolean; reason?: string }> = [];
  const one = (name: string, stale: boolean, build: () => Built): void => {
    const b = build();
    out.push('reason' in b ? { name, rebuilt: false, reason: b.reason } : { name, rebuilt: stale });
  };
  for (const h of NATIVE_HELPERS) one(h, installedHelper(h) === null, () => nativeHelper(h));
  for (const a of NATIVE_ADDONS) one(a, installedAddon(a) === null, () => nativeAddon(a));
  return out;
}

/** Loads a built addon (null with the reason when it cannot be built or loaded). */
export function loadAddon<T>(name: NativeAddon, build = true): { addon: T } | { reason: string } {
  const b: Built = build ? nativeAddon(name) : installedAddon(name) !== null ? { path: addonPath(name) } : { reason: `the ${name} addon is not built` };
  if ('reason' in b) return b;
  try {
    return { addon: createRequire(import.meta.url)(b.path) as T };
  } catch (e) {
    return { reason: `cannot load ${b.path}: ${(e as Error).message}` };
  }
}
