/**
 * Which setup runs a sandbox: km-setup (native/km-setup.c) where it is built and can run, or
 * the bash rendering of the same steps (init-script.ts). Like km-spawn, the helper is
 * compiled on first use when ./setup did not build it; without a compiler the bash setup
 * runs, with the same result (slower by tens of milliseconds per start).
 */
import { statSync } from 'node:fs';
import { release } from 'node:os';
import { nativeHelper } from '../../native/index.ts';

/** mount_setattr(2) (5.12) is the newest call km-setup needs (openat2 5.6, clone3 into a cgroup 5.7). */
const MIN_KERNEL: readonly [number, number] = [5, 12];

export function kernelSupportsSetupHelper(kernelRelease = release()): boolean {
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  return major > MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor >= MIN_KERNEL[1]);
}

/**
 * The helper to use, or null for bash. Under a root kmd the tree runs it as a dedicated host
 * uid, so it must be readable and executable by others.
 */
export function setupHelperFor(root: boolean): string | null {
  if (!kernelSupportsSetupHelper()) return null;
  const built = nativeHelper('km-setup');
  if (!('path' in built)) return null;
  const mode = statSync(built.path, { throwIfNoEntry: false })?.mode ?? 0;
  return !root || (mode & 0o005) === 0o005 ? built.path : null;
}
