/**
 * Freezing, thawing and ending a running tree (SPEC §8.7 at the substrate level).
 *
 * - pause: v2 `cgroup.freeze`, else the v1 freezer, else SIGSTOP to every process of the
 *   sandbox's PID namespace (execs included), repeated until no new process appears; resume
 *   reverses it.
 * - stop: SIGTERM to every process except the sandbox's own plumbing (PID 1, the init
 *   script, the workload-namespace holder — killing those would end the tree at once and cut
 *   the grace period short), wait up to `graceMs` for them to exit, then SIGKILL PID 1 (which
 *   takes the whole PID namespace with it) plus v2 `cgroup.kill` when available, and wait for
 *   the host-side bwrap to go.
 */
import { freezeCgroup, isFrozen, killCgroup } from './cgroups.ts';
import { isAlive, namespaceMembers, readStat, signal, signalTree, waitFor } from './proctree.ts';
import type { RuntimeRecord } from './runtime.ts';

export async function freezeTree(rt: RuntimeRecord): Promise<void> {
  if (rt.cgroups && freezeCgroup(rt.cgroups, true)) {
    const cg = rt.cgroups;
    await waitFor(() => isFrozen(cg), 5000, 5);
    return;
  }
  signalTree(rt.init.pid, 'SIGSTOP', true);
}

export async function thawTree(rt: RuntimeRecord): Promise<void> {
  if (rt.cgroups && freezeCgroup(rt.cgroups, false)) return;
  signalTree(rt.init.pid, 'SIGCONT', true);
  // nsenter (the exec launcher, outside the namespace) stops itself when its child is
  // stopped (it waits with WUNTRACED); wake every stopped host-side parent of a member.
  const members = new Set(namespaceMembers(rt.init.pid));
  for (const pid of members) {
    const parent = readStat(pid)?.ppid;
    if (parent === undefined || members.has(parent)) continue;
    const st = readStat(parent);
    if (st && (st.state === 'T' || st.state === 't')) signal(parent, 'SIGCONT');
  }
}

/** True when every process of the tree is stopped or frozen (signals path only). */
export function treeStopped(rt: RuntimeRecord): boolean {
  if (rt.cgroups && rt.cgroups.freeze !== 'signals') return isFrozen(rt.cgroups);
  return namespaceMembers(rt.init.pid).every((p) => {
    const st = readStat(p);
    return st === null || st.state === 'T' || st.state === 't' || st.state === 'Z';
  });
}

function workloadPids(rt: RuntimeRecord): number[] {
  const plumbing = new Set([rt.init.pid, rt.holder.pid]);
  const all = namespaceMembers(rt.init.pid);
  const initScript = all.find((p) => readStat(p)?.ppid === rt.init.pid);
  if (initScript !== undefined) plumbing.add(initScript);
  // Bridges are children of the init script and keep serving during the grace period.
  return all.filter((p) => !plumbing.has(p) && readStat(p)?.ppid !== initScript);
}

export async function endTree(rt: RuntimeRecord, graceMs: number): Promise<void> {
  if (graceMs > 0) {
    for (const pid of workloadPids(rt)) signal(pid, 'SIGTERM');
    await waitFor(() => workloadPids(rt).length === 0, graceMs, 25);
  }
  if (rt.cgroups) killCgroup(rt.cgroups);
  if (isAlive(rt.init)) signal(rt.init.pid, 'SIGKILL');
  await waitFor(() => !isAlive(rt.init) && !isAlive(rt.bwrap), 5000, 10);
  if (isAlive(rt.bwrap)) signal(rt.bwrap.pid, 'SIGKILL');
}
