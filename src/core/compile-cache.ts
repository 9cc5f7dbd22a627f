/**
 * V8's compile cache for the bundled build: code compiled once is kept under `dist/.cache`
 * and reused by later runs, which roughly halves `km`'s start-up. Only where that cache can
 * be trusted: `dist/` and the cache directory must belong to the user running km and be
 * writable by no one else (cached code runs as that user). Anything else leaves it off.
 */
import { mkdirSync, statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { INSTALL_ROOT, IS_BUNDLED } from './install-root.ts';

const ownedPrivately = (path: string, uid: number, mask: number): boolean => {
  const st = statSync(path);
  return st.isDirectory() && st.uid === uid && (st.mode & mask) === 0;
};

/** The cache directory to use under `dist`, created 0700; null when it cannot be trusted. */
export function trustedCacheDir(dist: string, uid: number): string | null {
  const dir = `${dist}/.cache`;
  try {
    if (!ownedPrivately(dist, uid, 0o022)) return null;
    mkdirSync(dir, { mode: 0o700, recursive: true });
    return ownedPrivately(dir, uid, 0o077) ? dir : null;
  } catch {
    return null;
  }
}

export function enableBundleCompileCache(): boolean {
  const uid = process.geteuid?.();
  if (!IS_BUNDLED || uid === undefined || process.env.KM_NO_COMPILE_CACHE === '1') return false;
  const dir = trustedCacheDir(`${INSTALL_ROOT}dist`, uid);
  return dir !== null && enableCompileCache(dir).status !== 0;
}
