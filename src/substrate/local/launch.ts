/**
 * Starts one sandbox tree, detached: its own session (setsid), no `--die-with-parent`, stdio
 * to `sandbox.log`, so it outlives the daemon that started it (ARCHITECTURE decision 1).
 *
 * Unprivileged kmd: `bwrap --unshare-all --unshare-user --uid 0 --gid 0 …` with host
 * directories passed as open fds (`--bind-fd`). Root kmd: `[sh: join cgroups] unshare --mount
 * [stage binds] setpriv --reuid S … bwrap --userns <fd> …` — the tree never runs as host
 * root (plain root bwrap would keep every capability): bwrap runs as the dedicated host uid
 * S inside the two-id user namespace of userns.ts, and since S cannot traverse a 0700 km
 * state dir, a private mount namespace stages the host directories first.
 *
 * bwrap gets only the setup capabilities;
 * the init script (init-script.ts) assembles the root and network, drops what it does not
 * need and pivots; it reports `ready <holder pid> <capture>` on fd 3 and bwrap reports its
 * PID 1 on the info fd.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { KmError } from '../../core/errors.ts';
import type { CgroupPaths } from './cgroups.ts';
import { procsFiles } from './cgroups.ts';
import { writeEtcFiles } from './etc-files.ts';
import { initScript, q, SETUP } from './init-script.ts';
import type { StatePaths } from './layout.ts';
import { scanBase } from './layout.ts';
import { nftRuleset } from './network.ts';
import { createDualUserns } from './userns.ts';
import { descendants, innerPid, refOf, signal } from './proctree.ts';
import type { RuntimeRecord, StoredSpec } from './runtime.ts';

const SETUP_CAPS = [
  'CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SETPCAP', 'CAP_SETFCAP', 'CAP_SYS_RESOURCE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE',
  'CAP_FOWNER', 'CAP_FSETID', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
];

export interface LaunchInput {
  stored: StoredSpec;
  paths: StatePaths;
  cgroups: CgroupPaths | null;
  bwrap: string;
  capture: boolean;
  /** True when kmd is host root and the tree must switch to `stored.hostUid`. */
  switchUser: boolean;
  timeoutMs: number;
  /** Awaited just before bwrap starts (the BPF gatekeeper attaching meanwhile). */
  beforeStart?: Promise<unknown>;
}

interface Sources {
  /** Binds as `[flag, source, dest]`; the source is a bwrap fd number or a staged path. */
  binds: Array<[string, string, string]>;
  /** fds to pass to bwrap (unprivileged path). */
  fds: number[];
  /** Host paths to stage (root path): index i is mounted at `${STAGE}/i`. */
  staged: string[];
}

const STAGE = '/run/kmstage';

/**
 * Unprivileged kmd: sources are passed as open fds (`--bind-fd`). Root kmd: bwrap runs as
 * the sandbox host uid, which cannot traverse a 0700 km state dir to resolve even an fd's
 * path, so a private mount namespace (host mounts untouched) stages each source under a
 * root-made tmpfs first and bwrap binds the staged paths.
 */
function sources(input: LaunchInput): Sources {
  const { spec } = input.stored;
  const list: Array<[string, string, boolean, boolean]> = [
    [input.paths.stateDir, `${SETUP}/state`, false, true],
    [spec.gatewayDir, `${SETUP}/gw`, true, true],
  ];
  if (spec.baseImage !== undefined) list.push([spec.baseImage, `${SETUP}/base`, true, true]);
  spec.mounts.forEach((m, i) => list.push([m.hostPath, `${SETUP}/m/${i}`, m.readOnly, false]));
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
    out.binds.push([ro ? '--ro-bind-fd' : '--bind-fd', String(5 + out.fds.length), dest]);
    out.fds.push(fd);
  }
  return out;
}

function bwrapArgs(input: LaunchInput, src: Sources, usernsFd: number | null): string[] {
  const { spec } = input.stored;
  const ns = usernsFd === null
    ? ['--unshare-all', '--unshare-user']
    : ['--userns', String(usernsFd), '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'];
  const args = [...ns, '--uid', '0', '--gid', '0', '--hostname', spec.hostname];
  for (const c of SETUP_CAPS) args.push('--cap-add', c);
  args.push('--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/run', '--dir', `${SETUP}/root`);
  for (const b of src.binds) args.push(...b);
  args.push('--clearenv', '--setenv', 'PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/km/bin');
  args.push('--info-fd', '4', '--', '/bin/bash', `${SETUP}/state/init.sh`);
  return args;
}

function hostCommand(input: LaunchInput, src: Sources, bwrapArgv: string[]): string[] {
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

export function prepareFiles(input: LaunchInput): void {
  const { spec } = input.stored;
  const base = spec.baseImage ?? '/';
  writeEtcFiles(input.paths, { baseDir: base, hostname: spec.hostname, shell: spec.shell, caPem: spec.caPem });
  writeFileSync(`${input.paths.stateDir}/nft.rules`, nftRuleset(), { mode: 0o644 });
  const script = initScript({
    base: spec.baseImage === undefined ? '/' : `${SETUP}/base`,
    overlays: scanBase(base).overlays,
    masks: input.stored.masks,
    mounts: spec.mounts,
    capture: input.capture,
    dual: input.stored.sandboxHostUid != null,
  });
  writeFileSync(input.paths.initScript, script, { mode: 0o644 });
}

function readLines(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-6).join('\n');
  } catch {
    return '';
  }
}

export async function launch(input: LaunchInput): Promise<RuntimeRecord> {
  prepareFiles(input);
  const { hostUid, hostGid, sandboxHostUid } = input.stored;
  const src = sources(input);
  let userns: Awaited<ReturnType<typeof createDualUserns>> | null = null;
  try {
    userns = sandboxHostUid == null ? null : await createDualUserns({ hostUid, hostGid, sandboxHostUid });
  } catch (e) {
    for (const fd of src.fds) closeSync(fd);
    throw e;
  }
  const fds = [...src.fds, ...(userns ? [userns.fd] : [])];
  if (input.beforeStart) {
    try {
      await input.beforeStart;
    } catch (e) {
      for (const fd of src.fds) closeSync(fd);
      userns?.release();
      throw e;
    }
  }
  const logFd = openSync(input.paths.log, 'a', 0o600);
  try {
    const argv = hostCommand(input, src, bwrapArgs(input, src, userns ? 5 + src.fds.length : null));
    const child = spawn(argv[0] as string, argv.slice(1), {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe', 'pipe', ...fds],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/km/bin' },
    });
    const status = child.stdio[3] as Readable;
    const info = child.stdio[4] as Readable;
    const result = await new Promise<{ holderNs: number; capture: boolean; initPid: number }>((resolve, reject) => {
      let initPid = 0;
      let infoText = '';
      info.setEncoding('utf8');
      info.on('data', (c: string) => {
        infoText += c;
        const m = /"child-pid"\s*:\s*(\d+)/.exec(infoText);
        if (m) initPid = Number(m[1]);
      });
      const fail = (why: string): void => {
        clearTimeout(timer);
        // bwrap's PID 1 keeps reaping while any process lives (bridges started before the
        // failure), and nothing else ends the namespace: kill it.
        const pid1 = initPid > 0 ? initPid : child.pid === undefined ? undefined : descendants(child.pid)[0];
        if (pid1 !== undefined) signal(pid1, 'SIGKILL');
        child.kill('SIGKILL');
        reject(new KmError('substrate_unavailable', `sandbox ${input.stored.spec.id} failed to start: ${why}`, {
          hint: `see ${input.paths.log}`,
          details: { log_tail: logTail(input.paths.log) },
        }));
      };
      const timer = setTimeout(() => fail(`no ready signal within ${input.timeoutMs} ms`), input.timeoutMs);
      readLines(status, (line) => {
        const [word, a, b] = line.split(' ');
        if (word === 'ready') {
          clearTimeout(timer);
          resolve({ holderNs: Number(a), capture: b === '1', initPid });
        } else if (word === 'failed') fail(line.slice(7));
      });
      child.on('exit', (code, sig) => fail(`exited (${sig ?? code}): ${logTail(input.paths.log)}`));
      child.on('error', (e) => fail(e.message));
    });
    child.removeAllListeners('exit');
    status.destroy();
    info.destroy();
    child.unref();
    return record(input, child.pid as number, result);
  } finally {
    for (const fd of [logFd, ...src.fds]) closeSync(fd);
    userns?.release();
  }
}

function record(
  input: LaunchInput,
  bwrapPid: number,
  r: { holderNs: number; capture: boolean; initPid: number },
): RuntimeRecord {
  const bwrap = refOf(bwrapPid);
  const init = refOf(r.initPid > 0 ? r.initPid : (descendants(bwrapPid)[0] ?? 0));
  const holderPid = init === null ? undefined : descendants(init.pid).find((p) => innerPid(p) === r.holderNs);
  const holder = holderPid === undefined ? null : refOf(holderPid);
  if (!bwrap || !init || !holder) {
    throw new KmError('substrate_unavailable', `sandbox ${input.stored.spec.id} started but its processes could not be found`);
  }
  return {
    version: 1,
    bwrap,
    init,
    holder,
    holderNsPid: r.holderNs,
    userns: readlinkSync(`/proc/${init.pid}/ns/user`),
    capture: r.capture,
    cgroups: input.cgroups,
    paused: false,
    startedAt: new Date().toISOString(),
  };
}
