/**
 * Host-side views of a sandbox's process tree through /proc (this kernel has no
 * /proc/<pid>/task/<tid>/children, so descendants come from one scan of every /proc/<pid>/stat).
 * A pid is identified together with its start time so a recycled pid is never mistaken for a
 * sandbox process after a daemon restart.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  /** Clock ticks since boot (field 22). */
  startTime: number;
}

export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '?';
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  return { pid, ppid, state, startTime };
}

export interface ProcRef {
  pid: number;
  startTime: number;
}

/** The process is alive (not a zombie) and is the one we recorded. */
export function isAlive(ref: ProcRef): boolean {
  const st = readStat(ref.pid);
  return st !== null && st.startTime === ref.startTime && st.state !== 'Z' && st.state !== 'X';
}

export function refOf(pid: number): ProcRef | null {
  const st = readStat(pid);
  return st === null ? null : { pid, startTime: st.startTime };
}

/**
 * All descendants of `root` (not including it), parents before children. `minPid`: only
 * processes with a pid from there on are read (see descendantsSince).
 */
export function descendants(root: number, minPid = 1): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid < minPid) continue;
    const st = readStat(pid);
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * The first descendant of `root` (parents before children) that `match`es, in a tree started
 * moments ago by `since` (a launcher): pids are handed out in increasing order, so the /proc
 * entries from `since` on are read first (a fleet host has thousands of others); after a pid
 * wrap-around, every entry.
 */
export function findDescendant(root: number, since: number, match: (pid: number) => boolean): number | undefined {
  return descendants(root, since).find(match) ?? descendants(root).find(match);
}

/** The innermost pid of a host process (last field of NSpid). */
export function innerPid(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'));
    if (line === undefined) return null;
    const fields = line.slice(6).trim().split(/\s+/);
    return Number(fields[fields.length - 1]);
  } catch {
    return null;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

const nsOf = (pid: number): string | null => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
};

/**
 * Every process in the PID namespace whose init is `init` (host pids), init first. Processes
 * joined later with nsenter are not descendants of init on the host, so membership is by
 * namespace, not by parentage.
 */
export function namespaceMembers(init: number): number[] {
  const ns = nsOf(init);
  if (ns === null) return [];
  const out = [init];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === init) continue;
    if (nsOf(pid) === ns) out.push(pid);
  }
  return out;
}

/** Sends `sig` to every member of init's PID namespace until no new one shows up (forks racing the walk). */
export function signalTree(root: number, sig: NodeJS.Signals, includeRoot: boolean): number {
  const seen = new Set<number>();
  if (includeRoot && signal(root, sig)) seen.add(root);
  if (!includeRoot) seen.add(root);
  for (let round = 0; round < 20; round += 1) {
    const fresh = namespaceMembers(root).filter((p) => !seen.has(p));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, sig);
      seen.add(pid);
    }
  }
  return seen.size;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` or the deadline; returns whether it became true. */
export async function waitFor(done: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(stepMs);
  }
  return done();
}
