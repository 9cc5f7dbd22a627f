/**
 * `exec` into a running sandbox (SPEC §8.9), measured against an in-sandbox helper and chosen
 * for cost (no resident helper, 2–3 extra execs):
 *
 *   [sh: join cgroups]                                      (root kmd with cgroups)
 *   nsenter -t <PID 1> --user --mount --net --pid --ipc --uts --cgroup
 *           [--preserve-credentials] --wdns <cwd>
 *     [nsenter -t <holder> --user --preserve-credentials]   (workload, unprivileged kmd)
 *       setpriv [--reuid=1000 --regid=1000 --clear-groups]  (workload, root kmd)
 *               --inh-caps=-all --ambient-caps=-all --bounding-set=<set> --no-new-privs
 *         argv…
 *
 * Entering PID 1's namespaces makes the caller uid 0 of the outer namespace (`root`), whose
 * bounding set keeps only CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID and KILL.
 * Unprivileged kmd: the workload lives in a nested user namespace, joined in a second hop
 * (two hops because every other namespace is owned by the outer one: once inside the inner
 * one the caller has no capability left to join them); the bounding set there stays full
 * (setns resets it and the hop execs as non-root), which no_new_privs makes moot. Root kmd:
 * uid 1000 exists in the outer namespace and setpriv switches to it (bounding set empty).
 * setns grants full capabilities in the entered namespace, so the in-sandbox setpriv drops
 * them before the command runs (CapEff 0 for the
 * sandbox user, NoNewPrivs 1 always). Exit codes: the command's; setpriv reports 127 (not
 * found) and 126 (not executable); nsenter re-raises a fatal signal on itself, mapped here to
 * 128+N.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { ExecHandle, ExecOptions, ExecPlan } from '../index.ts';
import { q } from './init-script.ts';
import { descendants, signal } from './proctree.ts';

const ROOT_CAPS = ['chown', 'dac_override', 'fowner', 'fsetid', 'setuid', 'setgid', 'kill'];

export interface ExecTarget {
  /** Host pid of the sandbox's PID 1 (owner of every namespace but the workload's userns). */
  initPid: number;
  /** Pid of the workload-namespace holder inside the sandbox's PID namespace. */
  holderNsPid: number;
  root: boolean;
  cwd: string;
  env: Record<string, string>;
  /**
   * Root kmd ("dual" ids): root inside and the sandbox user share the outer namespace, so
   * nsenter becomes uid 0 there and setpriv switches to 1000; no second hop.
   */
  dual: boolean;
  /** A root kmd exec'ing into a single-id sandbox (made before dual ids): become its host uid first. */
  switchTo?: { uid: number; gid: number } | null;
  cgroupProcs: string[];
  /**
   * km-spawn (native/km-spawn.c), when built: with only a v2 cgroup to join, the launcher is
   * created inside it (clone3 CLONE_INTO_CGROUP) instead of moving itself there, which costs
   * an RCU grace period (10-30 ms) per exec. v1 hierarchies still need the move.
   */
  spawnHelper?: string | null;
  /** The sandbox's v2 cgroup when it is its only one (no v1 hierarchies to join). */
  cgroupV2Only?: string | null;
}

/** The v2 cgroup directory to start in via km-spawn, or null for the `sh` move. */
const spawnInto = (t: ExecTarget): string | null => (t.spawnHelper && t.cgroupV2Only ? t.cgroupV2Only : null);

export function execArgv(t: ExecTarget, argv: string[]): string[] {
  const bset = t.root ? `-all,${ROOT_CAPS.map((c) => `+${c}`).join(',')}` : '-all';
  const hop = t.root || t.dual ? [] : ['nsenter', `--target=${t.holderNsPid}`, '--user', '--preserve-credentials', '--'];
  const become = t.dual && !t.root ? ['--reuid=1000', '--regid=1000', '--clear-groups'] : [];
  let out = [
    '/usr/bin/nsenter', `--target=${t.initPid}`, '--user', '--mount', '--net', '--pid', '--ipc', '--uts',
    '--cgroup', ...(t.dual ? [] : ['--preserve-credentials']), `--wdns=${t.cwd}`, '--',
    ...hop,
    'setpriv', ...become, '--inh-caps=-all', '--ambient-caps=-all', `--bounding-set=${bset}`, '--no-new-privs', '--',
    ...argv,
  ];
  if (t.switchTo) {
    out = ['/usr/bin/setpriv', `--reuid=${t.switchTo.uid}`, `--regid=${t.switchTo.gid}`, '--clear-groups', '--', ...out];
  }
  const into = spawnInto(t);
  if (into !== null) return [t.spawnHelper as string, into, '--', ...out];
  if (t.cgroupProcs.length > 0) {
    const joins = t.cgroupProcs.map((f) => `echo $$ > ${q(f)} || exit 125`).join('; ');
    out = ['/bin/sh', '-c', `${joins}; exec "$@"`, 'km-exec', ...out];
  }
  return out;
}

export function exitCodeOf(code: number | null, sig: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (sig !== null) return 128 + (constants.signals[sig] ?? 0);
  return 125;
}

/** Wraps argv so it runs on a pty inside the sandbox (util-linux `script`, exit code kept). */
export function ttyArgv(argv: string[], size: { cols: number; rows: number }): string[] {
  const cols = Math.max(1, Math.floor(size.cols));
  const rows = Math.max(1, Math.floor(size.rows));
  return ['script', '-qefc', `stty cols ${cols} rows ${rows} 2>/dev/null; exec ${argv.map(q).join(' ')}`, '/dev/null'];
}

/**
 * The launcher for `argv`, its environment and the descendant that receives signals, without
 * starting anything: `startPlan` runs it here, and kmd hands the same plan to the native CLI
 * (native/km-client.c), which runs it the same way.
 */
export function execPlan(t: ExecTarget, argv: string[], options: Pick<ExecOptions, 'tty'> = {}): ExecPlan {
  return {
    argv: execArgv(t, options.tty ? ttyArgv(argv, options.tty) : argv),
    env: t.env,
    // The command is nsenter's only child (the launcher chain execs in place, nsenter forks
    // once); under km-spawn, nsenter is itself km-spawn's only child.
    signalDepth: spawnInto(t) === null ? 0 : 1,
  };
}

export function startPlan(plan: ExecPlan, stdio: StdioOptions = ['pipe', 'pipe', 'pipe']): ExecHandle {
  // Own process group (and session): a terminal's SIGINT must not kill the launcher (which
  // would orphan the command inside); callers forward signals with kill().
  const child = spawn(plan.argv[0] as string, plan.argv.slice(1), { env: plan.env, stdio, detached: true });
  // A command that exits without reading its input must not crash the caller with EPIPE.
  child.stdin?.on('error', () => undefined);
  let exited = false;
  child.once('exit', () => (exited = true));
  const exit = new Promise<number>((resolve) => {
    child.on('error', () => resolve(125));
    child.on('close', (code, sig) => resolve(exitCodeOf(code, sig)));
  });
  return {
    pid: child.pid ?? -1,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exit,
    detach() {
      if (!exited) return false;
      child.stdout?.destroy();
      child.stderr?.destroy();
      return true;
    },
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (child.pid === undefined) return;
      const target = descendants(child.pid)[plan.signalDepth];
      if (target === undefined || !signal(target, sig)) child.kill(sig);
    },
  };
}
