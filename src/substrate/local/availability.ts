/**
 * Whether this host can run local sandboxes, and which optional layers work (for
 * `km doctor` and for tests that skip with a reason).
 */
import { spawnSync } from 'node:child_process';

export interface LocalAvailability {
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason: string | null;
  root: boolean;
  nft: boolean;
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function localSubstrateAvailability(): LocalAvailability {
  const root = process.getuid?.() === 0;
  const missing = ['bwrap', 'socat', 'nsenter', 'setpriv', 'unshare', 'ip'].filter((c) => !has(c));
  const nft = has('nft');
  if (process.platform !== 'linux') return { ok: false, reason: 'the local substrate needs Linux', root, nft };
  if (missing.length > 0) {
    return { ok: false, reason: `missing host tools: ${missing.join(', ')} (apt-get install bubblewrap socat util-linux iproute2)`, root, nft };
  }
  const userns = spawnSync('unshare', ['-Ur', 'true'], { stdio: 'ignore' });
  if (userns.status !== 0) return { ok: false, reason: 'unprivileged user namespaces are disabled (unshare -Ur fails)', root, nft };
  return { ok: true, reason: null, root, nft };
}
