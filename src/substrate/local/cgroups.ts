/**
 * cgroup limits, freezing and killing for local sandboxes (root only; detected at runtime).
 *
 * Hierarchies come from /proc/self/mountinfo (v1 `cgroup` mounts per controller, the v2
 * `cgroup2` mount, which on hybrid hosts sits at /sys/fs/cgroup/unified) and the sandbox's
 * cgroups are created *under the caller's own cgroup* (from /proc/self/cgroup), so a kmd
 * running inside a limited cgroup cannot escape its own limits. Limits use v2 files when the
 * v2 parent delegates the controller (memory.max, pids.max, cpu.max), else v1
 * (memory.limit_in_bytes, pids.max, cpu.cfs_quota_us). Freezing prefers v2 cgroup.freeze, then
 * the v1 freezer; killing uses v2 cgroup.kill when present.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupMode, FreezeMethod, SandboxLimits } from '../index.ts';

export interface CgroupPaths {
  /** v1 controller → directory. */
  v1: Record<string, string>;
  /** v2 directory (freeze/kill and, where delegated, limits). */
  v2: string | null;
  limitsIn: CgroupMode;
  freeze: FreezeMethod;
}

interface Hierarchies {
  v1: Map<string, string>;
  v2: string | null;
  self: Map<string, string>;
}

function readHierarchies(): Hierarchies {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined) continue;
    const mountPoint = pre.split(' ')[4] ?? '';
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup2') v2 ??= mountPoint;
    if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        if (['memory', 'pids', 'cpu', 'freezer'].includes(opt) && !v1.has(opt)) v1.set(opt, mountPoint);
      }
    }
  }
  const self = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , ctrls = '', path = '/'] = m;
    if (ctrls === '') self.set('', path);
    for (const c of ctrls.split(',')) self.set(c, path);
  }
  return { v1, v2, self };
}

function v2Delegates(dir: string, ctrls: string[]): boolean {
  try {
    const avail = readFileSync(join(dir, '..', 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    return ctrls.every((c) => avail.includes(c));
  } catch {
    return false;
  }
}

function neededV2(limits: SandboxLimits): string[] {
  const out: string[] = [];
  if (limits.memoryBytes !== undefined) out.push('memory');
  if (limits.pids !== undefined) out.push('pids');
  if (limits.cpus !== undefined) out.push('cpu');
  return out;
}

/**
 * Creates the sandbox's cgroups (`km-<key>`; the key includes a hash of the state dir so two
 * km homes on one host never share a cgroup) and writes its limits. Throws when a limit
 * cannot be set.
 */
export function createCgroups(id: string, limits: SandboxLimits): CgroupPaths {
  const h = readHierarchies();
  const name = `km-${id}`;
  let v2: string | null = null;
  if (h.v2 !== null) {
    const dir = join(h.v2, h.self.get('') ?? '/', name);
    try {
      mkdirSync(dir, { recursive: true });
      v2 = dir;
    } catch {
      v2 = null;
    }
  }
  const wanted = neededV2(limits);
  const limitsInV2 = v2 !== null && wanted.length > 0 && v2Delegates(v2, wanted);
  const v1: Record<string, string> = {};
  // The v1 freezer only where v2 cannot freeze: every extra hierarchy is one more cgroup
  // migration (an RCU grace period in the kernel) on each exec.
  const v2Freezes = v2 !== null && existsSync(join(v2, 'cgroup.freeze'));
  const ctrls = [...(v2Freezes ? [] : ['freezer']), ...(limitsInV2 ? [] : wanted)];
  try {
    for (const c of ctrls) {
      const mount = h.v1.get(c);
      if (mount === undefined) continue;
      const dir = join(mount, h.self.get(c) ?? '/', name);
      mkdirSync(dir, { recursive: true });
      v1[c] = dir;
    }
  } catch (e) {
    removeCgroups({ v1, v2, limitsIn: 'none', freeze: 'signals' });
    throw e;
  }
  const paths: CgroupPaths = {
    v1,
    v2,
    limitsIn: wanted.length === 0 ? 'none' : limitsInV2 ? 'v2' : 'v1',
    freeze: v2Freezes ? 'cgroup-v2' : v1.freezer ? 'cgroup-v1' : 'signals',
  };
  try {
    writeLimits(paths, limits);
  } catch (e) {
    removeCgroups(paths);
    throw e;
  }
  return paths;
}

function writeLimits(p: CgroupPaths, l: SandboxLimits): void {
  const w = (dir: string | undefined | null, file: string, value: string): void => {
    if (!dir) throw new Error(`no cgroup directory for ${file}`);
    writeFileSync(join(dir, file), value);
  };
  const quota = l.cpus === undefined ? 0 : Math.max(1000, Math.round(l.cpus * 100_000));
  if (p.limitsIn === 'v2') {
    if (l.memoryBytes !== undefined) w(p.v2, 'memory.max', String(l.memoryBytes));
    if (l.pids !== undefined) w(p.v2, 'pids.max', String(l.pids));
    if (l.cpus !== undefined) w(p.v2, 'cpu.max', `${quota} 100000`);
  } else if (p.limitsIn === 'v1') {
    if (l.memoryBytes !== undefined) w(p.v1.memory, 'memory.limit_in_bytes', String(l.memoryBytes));
    if (l.pids !== undefined) w(p.v1.pids, 'pids.max', String(l.pids));
    if (l.cpus !== undefined) {
      w(p.v1.cpu, 'cpu.cfs_period_us', '100000');
      w(p.v1.cpu, 'cpu.cfs_quota_us', String(quota));
    }
  }
}

/** Every cgroup.procs file a launcher must join. */
export function procsFiles(p: CgroupPaths): string[] {
  return [...Object.values(p.v1), ...(p.v2 ? [p.v2] : [])].map((d) => join(d, 'cgroup.procs'));
}

export function freezeCgroup(p: CgroupPaths, frozen: boolean): boolean {
  if (p.freeze === 'cgroup-v2' && p.v2) {
    writeFileSync(join(p.v2, 'cgroup.freeze'), frozen ? '1' : '0');
    return true;
  }
  if (p.freeze === 'cgroup-v1' && p.v1.freezer) {
    writeFileSync(join(p.v1.freezer, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
    return true;
  }
  return false;
}

export function isFrozen(p: CgroupPaths): boolean {
  try {
    if (p.freeze === 'cgroup-v2' && p.v2) return /frozen 1/.test(readFileSync(join(p.v2, 'cgroup.events'), 'utf8'));
    if (p.freeze === 'cgroup-v1' && p.v1.freezer) return readFileSync(join(p.v1.freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  } catch {
    return false;
  }
  return false;
}

/** v2 cgroup.kill; false when unavailable. */
export function killCgroup(p: CgroupPaths): boolean {
  if (!p.v2 || !existsSync(join(p.v2, 'cgroup.kill'))) return false;
  writeFileSync(join(p.v2, 'cgroup.kill'), '1');
  return true;
}

/** Removes the sandbox's cgroup dirs; false while some are still busy (processes exiting). */
export function removeCgroups(p: CgroupPaths): boolean {
  let all = true;
  for (const dir of [...Object.values(p.v1), ...(p.v2 ? [p.v2] : [])]) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') all = false;
    }
  }
  return all;
}

export function cgroupsUsable(): boolean {
  return process.getuid?.() === 0;
}
