/**
 * The command line that starts one sandbox tree (launch.ts spawns it).
 *
 * Unprivileged kmd: `bwrap --unshare-all --unshare-user --uid 0 --gid 0 …` with host
 * directories passed as open fds (`--bind-fd`). Root kmd: the tree never runs as host root
 * (plain root bwrap would keep every capability): bwrap runs as the dedicated host uid S
 * inside the two-id user namespace of userns.ts, and since S cannot traverse a 0700 km state
 * dir, a private mount namespace stages the host directories first. With km-setup that host
 * side is one process (`km-setup --host <plan> -- bwrap …`, which also starts the tree inside
 * its v2 cgroup); without it, `[sh: join cgroups] unshare --mount [sh: stage binds] setpriv
 * --reuid S … bwrap --userns <fd> …`.
 *
 * Inside, bwrap's child is km-setup with the sandbox plan, or bash with init.sh. The helper
 * itself is one of the bound sources, so it is visible wherever the checkout lives.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { KmError } from '../../core/errors.ts';
import type { CgroupPaths } from './cgroups.ts';
import { procsFiles } from './cgroups.ts';
import { SANDBOX_UID } from './etc-files.ts';
import { q } from './init-script.ts';
import type { StatePaths } from './layout.ts';
import type { StoredSpec } from './runtime.ts';
import { hostPlan } from './setup-plan.ts';
import { NEW_ROOT, SETUP, SETUP_STATE } from './setup-steps.ts';

const SETUP_CAPS = [
  'CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SETPCAP', 'CAP_SETFCAP', 'CAP_SYS_RESOURCE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE',
  'CAP_FOWNER', 'CAP_FSETID', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
];

export const TREE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/km/bin';
/** km-setup in the setup view. */
const SETUP_HELPER = `${SETUP}/km-setup`;
/** The first fd after stdio, the status pipe (3) and bwrap's info fd (4). */
export const FIRST_FD = 5;
const STAGE = '/run/kmstage';

export interface TreeInput {
  stored: StoredSpec;
  paths: StatePaths;
  cgroups: CgroupPaths | null;
  bwrap: string;
  /** True when kmd is host root and the tree must switch to `stored.hostUid`. */
  switchUser: boolean;
  /** km-setup (host path), or null: bash and the shell launcher. */
  setupHelper: string | null;
}

export interface Sources {
  /** Binds as `[flag, source, dest]`; the source is a bwrap fd number or a staged path. */
  binds: Array<[string, string, string]>;
  /** fds to pass to bwrap (unprivileged path). */
  fds: number[];
  /** Host paths to stage (root path): index i is mounted at `${STAGE}/i`. */
  staged: string[];
}

/**
 * Unprivileged kmd: sources are passed as open fds (`--bind-fd`). Root kmd: bwrap runs as
 * the sandbox host uid, which cannot traverse a 0700 km state dir to resolve even an fd's
 * path, so a private mount namespace (host mounts untouched) stages each source under a
 * root-made tmpfs first and bwrap binds the staged paths.
 */
export function sources(input: TreeInput): Sources {
  const { spec } = input.stored;
  const list: Array<[string, string, boolean, boolean]> = [
    [input.paths.stateDir, SETUP_STATE, false, true],
    [spec.gatewayDir, `${SETUP}/gw`, true, true],
  ];
  if (spec.baseImage !== undefined) list.push([spec.baseImage, `${SETUP}/base`, true, true]);
  spec.mounts.forEach((m, i) => list.push([m.hostPath, `${SETUP}/m/${i}`, m.readOnly, false]));
  if (input.setupHelper !== null) list.push([input.setupHelper, SETUP_HELPER, true, false]);
  const out: Sources = { binds: [], fds: [], staged: [] };
  for (const [host, dest, ro, isDir] of list) {
    if (input.switchUser) {
      out.binds.push([ro ? '--ro-bind' : '--bind', `${STAGE}/${out.staged.length}`, dest]);
      out.staged.push(host);
      continue;
    }
    let fd: number;
    try {
      fd = openSync(host, isDir ? constants.O_RDONLY | constants.O_DIRECTORY : constants.O_RDONLY);
    } catch (e) {
      for (const f of out.fds) closeSync(f);
      throw new KmError('substrate_unavailable', `cannot open ${host}: ${(e as Error).message}`, { cause: e });
    }
    out.binds.push([ro ? '--ro-bind-fd' : '--bind-fd', String(FIRST_FD + out.fds.length), dest]);
    out.fds.push(fd);
  }
  return out;
}

export function bwrapArgs(input: TreeInput, src: Sources, usernsFd: number | null): string[] {
  const { spec } = input.stored;
  const ns = usernsFd === null
    ? ['--unshare-all', '--unshare-user']
    : ['--userns', String(usernsFd), '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'];
  const args = [...ns, '--uid', '0', '--gid', '0', '--hostname', spec.hostname];
  for (const c of SETUP_CAPS) args.push('--cap-add', c);
  args.push('--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/run', '--dir', NEW_ROOT);
  for (const b of src.binds) args.push(...b);
  args.push('--clearenv', '--setenv', 'PATH', TREE_PATH, '--chdir', '/', '--info-fd', '4', '--');
  args.push(...(input.setupHelper === null ? ['/bin/bash', `${SETUP_STATE}/init.sh`] : [SETUP_HELPER, `${SETUP_STATE}/setup.plan`]));
  return args;
}

/** Root kmd with km-setup: everything before bwrap in one process (see setup-plan.ts). */
export function helperHostArgv(input: TreeInput, src: Sources, bwrapArgv: string[]): string[] {
  const { hostUid: uid, hostGid: gid, sandboxHostUid } = input.stored;
  const cg = input.cgroups;
  const plan = hostPlan({
    userns: sandboxHostUid == null ? null : { fd: FIRST_FD, uid, gid, innerUid: SANDBOX_UID, sandboxHostId: sandboxHostUid },
    cgroup2: cg?.v2 ?? null,
    cgroupProcs: cg ? Object.values(cg.v1).map((d) => `${d}/cgroup.procs`) : [],
    stageRoot: '/run',
    stageDir: STAGE,
    staged: src.staged,
    user: { uid, gid },
  });
  return [input.setupHelper as string, '--host', plan, '--', input.bwrap, ...bwrapArgv];
}

/** Without km-setup: shell steps, unshare and setpriv (the userns fd comes from userns.ts). */
export function shellHostArgv(input: TreeInput, src: Sources, bwrapArgv: string[]): string[] {
  let argv = [input.bwrap, ...bwrapArgv];
  if (input.switchUser) {
    const { hostUid: u, hostGid: g } = input.stored;
    const stage = [
      `mount -t tmpfs -o mode=0755 km-stage /run`,
      ...src.staged.map((h, i) => `if [ -d ${q(h)} ]; then mkdir -p ${STAGE}/${i}; else mkdir -p ${STAGE} && touch ${STAGE}/${i}; fi && mount --bind ${q(h)} ${STAGE}/${i}`),
    ].join(' && ');
    argv = [
      'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${stage} || exit 125; exec "$@"`, 'km-stage',
      'setpriv', `--reuid=${u}`, `--regid=${g}`, '--clear-groups', '--', ...argv,
    ];
  }
  if (input.cgroups) {
    const joins = procsFiles(input.cgroups).map((f) => `echo $$ > ${q(f)} || exit 125`).join('; ');
    argv = ['/bin/sh', '-c', `${joins}; exec "$@"`, 'km-launch', ...argv];
  }
  return argv;
}
