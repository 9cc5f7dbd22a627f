/**
 * Root kmd only: the sandbox's outer user namespace with two ids — host `hostUid` → 0 (root
 * inside) and host `sandboxHostUid` → 1000 (`sandbox`) — so files and processes of root
 * inside and of the workload have different owners. bwrap cannot write such a map, so a
 * throwaway process running as `hostUid` (the namespace's owner, which lets bwrap, also
 * running as `hostUid`, join it) creates the namespace, kmd writes both maps as host root,
 * and bwrap gets the namespace as `--userns <fd>`. The throwaway process is killed once the
 * sandbox holds the namespace. This is the path without km-setup; the helper does the same
 * steps itself (its `userns` step, tree-argv.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { KmError } from '../../core/errors.ts';
import { SANDBOX_GID, SANDBOX_UID } from './etc-files.ts';
import { signal, waitFor } from './proctree.ts';

export interface DualUserns {
  fd: number;
  release(): void;
}

const nsOf = (pid: number | 'self'): string | null => {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return null;
  }
};

export async function createDualUserns(ids: { hostUid: number; hostGid: number; sandboxHostUid: number }): Promise<DualUserns> {
  const { hostUid: u, hostGid: g, sandboxHostUid: s } = ids;
  const child = spawn('setpriv', [`--reuid=${u}`, `--regid=${g}`, '--clear-groups', '--', 'unshare', '--user', '--', 'sleep', 'infinity'], {
    stdio: 'ignore',
  });
  const pid = child.pid;
  const mine = nsOf('self');
  const fail = (why: string): never => {
    if (pid !== undefined) signal(pid, 'SIGKILL');
    throw new KmError('substrate_unavailable', `cannot create the sandbox user namespace: ${why}`);
  };
  if (pid === undefined) return fail('could not start unshare');
  if (!(await waitFor(() => { const ns = nsOf(pid); return ns !== null && ns !== mine; }, 3000, 2))) fail('unshare did not enter a new namespace');
  try {
    writeFileSync(`/proc/${pid}/uid_map`, `0 ${u} 1\n${SANDBOX_UID} ${s} 1\n`);
    writeFileSync(`/proc/${pid}/gid_map`, `0 ${g} 1\n${SANDBOX_GID} ${s} 1\n`);
  } catch (e) {
    fail(`writing the id maps failed: ${(e as Error).message}`);
  }
  const fd = openSync(`/proc/${pid}/ns/user`, 'r');
  return {
    fd,
    release: () => {
      signal(pid, 'SIGKILL');
      closeSync(fd);
    },
  };
}
