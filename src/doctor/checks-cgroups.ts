/** cgroups (layout, controllers, freezer, writability) and the BPF connect gatekeeper. */
import { fail, firstLine, pass, skip, warn, type Check, type DoctorContext } from './types.ts';

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc']);

export interface CgroupLayout {
  layout: 'v1' | 'v2' | 'hybrid' | 'none';
  /** v1 controller → mount point. */
  v1: Map<string, string>;
  v2Mount: string | undefined;
}

/** Parses /proc/self/mounts. Pure. */
export function parseCgroupMounts(mounts: string): CgroupLayout {
  const v1 = new Map<string, string>();
  let v2Mount: string | undefined;
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (!mountPoint || !options) continue;
    if (type === 'cgroup2') v2Mount ??= mountPoint;
    if (type !== 'cgroup') continue;
    for (const opt of options.split(',')) if (V1_CONTROLLERS.has(opt) && !v1.has(opt)) v1.set(opt, mountPoint);
  }
  const layout = v1.size > 0 && v2Mount ? 'hybrid' : v1.size > 0 ? 'v1' : v2Mount ? 'v2' : 'none';
  return { layout, v1, v2Mount };
}

/** Parses /proc/self/cgroup into controller → path ('' key for the v2 unified line). Pure. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const c of (m[1] as string).split(',')) out.set(c, m[2] as string);
  }
  return out;
}

interface Effective {
  controllers: Set<string>;
  freezer: 'v1' | 'v2' | null;
  /** The directories a limit would be written under. */
  dirs: string[];
}

async function effective(ctx: DoctorContext, l: CgroupLayout, own: Map<string, string>): Promise<Effective> {
  const controllers = new Set<string>(l.v1.keys());
  const dirs: string[] = [];
  let v2Dir: string | undefined;
  if (l.v2Mount) {
    v2Dir = `${l.v2Mount}${own.get('') ?? '/'}`.replace(/\/$/, '') || '/';
    for (const c of ((await ctx.host.readText(`${l.v2Mount}/cgroup.controllers`)) ?? '').split(/\s+/)) if (c) controllers.add(c);
  }
  for (const c of ['memory', 'pids', 'cpu']) {
    const mount = l.v1.get(c);
    if (mount) dirs.push(`${mount}${own.get(c) ?? '/'}`.replace(/\/$/, '') || '/');
  }
  if (dirs.length === 0 && v2Dir) dirs.push(v2Dir);
  const v2Freeze = v2Dir !== undefined && (own.get('') === '/' || (await ctx.host.exists(`${v2Dir}/cgroup.freeze`)));
  const freezer = l.v1.has('freezer') ? 'v1' : v2Freeze ? 'v2' : null;
  return { controllers, freezer, dirs: [...new Set(dirs)] };
}

export const cgroupsCheck: Check = {
  name: 'cgroups',
  async run(ctx) {
    const l = parseCgroupMounts((await ctx.host.readText('/proc/self/mounts')) ?? '');
    if (l.layout === 'none') return warn('no cgroup filesystem is mounted: sandboxes run without resource limits', 'mount cgroup2 on /sys/fs/cgroup');
    const own = parseProcCgroup((await ctx.host.readText('/proc/self/cgroup')) ?? '');
    const e = await effective(ctx, l, own);
    const writable = (await Promise.all(e.dirs.map((d) => ctx.host.writable(d)))).every(Boolean) && e.dirs.length > 0;
    const want = ['memory', 'pids', 'cpu'].filter((c) => !e.controllers.has(c));
    const desc = `${l.layout}; controllers: ${[...e.controllers].sort().join(', ') || 'none'}; freezer: ${e.freezer ?? 'none'}; writable: ${writable ? 'yes' : 'no'}`;
    if (!writable) return warn(`${desc}. Not writable by this user: sandboxes run without cgroup limits`, 'run kmd as root to add memory, CPU and pids limits');
    if (want.length > 0 || !e.freezer) {
      return warn(`${desc}. Missing: ${[...want, ...(e.freezer ? [] : ['freezer'])].join(', ')}`, 'enable the missing controllers (cgroup_enable= kernel parameters)');
    }
    return pass(desc);
  },
};

export const bpfCheck: Check = {
  name: 'bpf',
  async run(ctx) {
    const cfg = await ctx.config();
    const problem = cfg.requireEbpf ? fail : warn;
    if (ctx.uid !== 0) {
      const msg = 'not root: the BPF connect gatekeeper is off (namespaces still confine egress)';
      return cfg.requireEbpf ? fail(msg, 'run kmd as root (require_ebpf is set)') : skip(msg);
    }
    if (!ctx.gatekeeper) return problem('this install cannot probe the BPF gatekeeper: the BPF layer is off');
    const why = await ctx.gatekeeper();
    if (why === null) return pass('root; km-bpf loads cgroup/connect programs (gatekeeper available)');
    const hint = /C compiler|km-bpf helper/.test(why) ? 'install a C compiler (apt-get install gcc) and run ./setup' : 'needs CONFIG_BPF_SYSCALL, CONFIG_CGROUP_BPF and a cgroup v2 mount';
    return problem(`the BPF gatekeeper is off: ${why}`, hint);
  },
};
