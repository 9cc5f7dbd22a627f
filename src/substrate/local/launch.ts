/**
 * Starts one sandbox tree, detached: its own session (setsid), no `--die-with-parent`, stdio
 * to `sandbox.log`, working directory `/`, so it outlives the daemon that started it
 * (ARCHITECTURE decision 1). The command line is tree-argv.ts's.
 *
 * bwrap gets only the setup capabilities; the setup (km-setup with setup.plan, or bash with
 * init.sh: init-script.ts) assembles the root and network, drops what it does not need and
 * pivots; it reports `ready <holder pid> <capture>` on fd 3 and bwrap reports its PID 1 on
 * the info fd.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { KmError } from '../../core/errors.ts';
import type { CgroupPaths } from './cgroups.ts';
import { writeEtcFiles } from './etc-files.ts';
import { renderBash } from './init-script.ts';
import type { StatePaths } from './layout.ts';
import { scanBase } from './layout.ts';
import { nftRuleset } from './network.ts';
import { createDualUserns } from './userns.ts';
import { descendants, findDescendant, innerPid, refOf, signal } from './proctree.ts';
import type { RuntimeRecord, StoredSpec } from './runtime.ts';
import { setupPlan } from './setup-plan.ts';
import { SETUP, setupSteps } from './setup-steps.ts';
import { bwrapArgs, FIRST_FD, helperHostArgv, shellHostArgv, sources, TREE_PATH } from './tree-argv.ts';

export interface LaunchInput {
  stored: StoredSpec;
  paths: StatePaths;
  cgroups: CgroupPaths | null;
  bwrap: string;
  capture: boolean;
  /** True when kmd is host root and the tree must switch to `stored.hostUid`. */
  switchUser: boolean;
  /** km-setup (native/km-setup.c) to run the setup with, or null for the bash script. */
  setupHelper: string | null;
  timeoutMs: number;
  /** Awaited just before bwrap starts (the BPF gatekeeper attaching meanwhile). */
  beforeStart?: Promise<unknown>;
}

export function prepareFiles(input: LaunchInput): void {
  const { spec } = input.stored;
  const base = spec.baseImage ?? '/';
  writeEtcFiles(input.paths, { baseDir: base, hostname: spec.hostname, shell: spec.shell, caPem: spec.caPem });
  writeFileSync(`${input.paths.stateDir}/nft.rules`, nftRuleset(), { mode: 0o644 });
  const steps = setupSteps({
    base: spec.baseImage === undefined ? '/' : `${SETUP}/base`,
    overlays: scanBase(base).overlays,
    masks: input.stored.masks,
    mounts: spec.mounts,
    capture: input.capture,
    dual: input.stored.sandboxHostUid != null,
  });
  // One of the two renderings; the other file goes so that a stale one is never run.
  const [file, stale, text] = input.setupHelper === null
    ? [input.paths.initScript, input.paths.setupPlan, renderBash(steps)]
    : [input.paths.setupPlan, input.paths.initScript, setupPlan(steps)];
  writeFileSync(file, text, { mode: 0o644 });
  rmSync(stale, { force: true });
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
  // Root kmd with km-setup: the host side (user namespace included) is the helper's.
  const viaHelper = input.setupHelper !== null && input.switchUser;
  const src = sources(input);
  let userns: Awaited<ReturnType<typeof createDualUserns>> | null = null;
  try {
    userns = sandboxHostUid == null || viaHelper ? null : await createDualUserns({ hostUid, hostGid, sandboxHostUid });
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
    const usernsFd = sandboxHostUid == null ? null : viaHelper ? FIRST_FD : FIRST_FD + src.fds.length;
    const bwrapArgv = bwrapArgs(input, src, usernsFd);
    const argv = viaHelper ? helperHostArgv(input, src, bwrapArgv) : shellHostArgv(input, src, bwrapArgv);
    const child = spawn(argv[0] as string, argv.slice(1), {
      detached: true,
      // `/`: a launcher's cwd is inherited by bwrap's PID 1, whose /proc/1/cwd root inside can follow.
      cwd: '/',
      stdio: ['ignore', logFd, logFd, 'pipe', 'pipe', ...fds],
      env: { PATH: TREE_PATH },
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
        // failure), and nothing else ends the namespace: kill it, and all the launcher started.
        if (initPid > 0) signal(initPid, 'SIGKILL');
        for (const p of child.pid === undefined ? [] : descendants(child.pid)) signal(p, 'SIGKILL');
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

/** bwrap's PID 1 under the launcher (which may be km-setup waiting on the bwrap monitor). */
const pid1Below = (launcher: number): number | undefined => findDescendant(launcher, launcher, (p) => innerPid(p) === 1);

function record(
  input: LaunchInput,
  bwrapPid: number,
  r: { holderNs: number; capture: boolean; initPid: number },
): RuntimeRecord {
  const bwrap = refOf(bwrapPid);
  const init = refOf(r.initPid > 0 ? r.initPid : (pid1Below(bwrapPid) ?? 0));
  const holderPid = init === null ? undefined : findDescendant(init.pid, bwrapPid, (p) => innerPid(p) === r.holderNs);
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
