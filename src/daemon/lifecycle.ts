/**
 * kmd's lifecycle as seen from the CLI: connect, else start on demand (one starter at a
 * time), recover from a crashed daemon's leftovers, restart on a version mismatch, stop.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveStateDir, stateFiles } from '../config/paths.ts';
import { KmError, isKmError } from '../core/errors.ts';
import { KM_VERSION } from '../cli/version.ts';
import { createDaemonClient, type DaemonClient } from './client.ts';
import type { HealthBody } from './core-routes.ts';
import { isKmdProcess, readPidFile, removeFile, socketPathProblem } from './files.ts';
import { acquire, isHeld, lockName, tryAcquire } from './lock.ts';
import { spawnKmd, type SpawnKmd } from './spawn.ts';

export interface LifecycleOptions {
  env: NodeJS.ProcessEnv;
  /** Defaults to resolveStateDir(env). */
  stateDir?: string;
  /** The version the daemon must report (default: this CLI's). */
  version?: string;
  /** Bound on starting or stopping kmd (default 15 s). */
  timeoutMs?: number;
  spawn?: SpawnKmd;
}

export interface EnsuredDaemon {
  client: DaemonClient;
  socketPath: string;
  health: HealthBody;
  /** True when this call started kmd. */
  started: boolean;
  /** True when a daemon of another version was stopped first. */
  restarted: boolean;
}

const PROBE_TIMEOUT_MS = 2000;

function setup(opts: LifecycleOptions) {
  const stateDir = opts.stateDir ?? resolveStateDir(opts.env);
  const files = stateFiles(stateDir);
  const client = createDaemonClient(files.socket, { logPath: files.daemonLog });
  return { stateDir, files, client, timeoutMs: opts.timeoutMs ?? 15_000, version: opts.version ?? KM_VERSION };
}

/** Health if kmd answers, undefined if it is not reachable. */
export async function probe(client: DaemonClient, timeoutMs = PROBE_TIMEOUT_MS): Promise<HealthBody | undefined> {
  try {
    return await client.health({ timeoutMs });
  } catch (e) {
    if (isKmError(e) && (e.code === 'daemon_unavailable' || e.code === 'timeout')) return undefined;
    throw e;
  }
}

/** Connects to kmd, starting (or restarting) it when needed. */
export async function ensureDaemon(opts: LifecycleOptions): Promise<EnsuredDaemon> {
  const s = setup(opts);
  const tooLong = socketPathProblem(s.files.socket);
  if (tooLong) throw tooLong;
  const fast = await probe(s.client);
  if (fast && fast.version === s.version) return { client: s.client, socketPath: s.files.socket, health: fast, started: false, restarted: false };
  const lock = await acquire(lockName(s.stateDir, 'start'), s.timeoutMs * 2, 'another km process starting kmd');
  try {
    let health = await probe(s.client);
    if (health && health.version === s.version) return { client: s.client, socketPath: s.files.socket, health, started: false, restarted: false };
    const restarted = health !== undefined;
    if (health) await stopRunning(s.stateDir, s.client, s.timeoutMs);
    else await waitOrClear(s.stateDir, s.client, s.timeoutMs);
    health = await probe(s.client);
    if (!health) health = await startKmd(s.stateDir, s.client, opts, s.timeoutMs);
    if (health.version !== s.version) {
      throw new KmError('daemon_unavailable', `kmd reports version ${health.version}, expected ${s.version}`, {
        hint: `stop it with \`km daemon stop\`; see ${s.files.daemonLog}`,
      });
    }
    return { client: s.client, socketPath: s.files.socket, health, started: true, restarted };
  } finally {
    await lock.release();
  }
}

async function startKmd(stateDir: string, client: DaemonClient, opts: LifecycleOptions, timeoutMs: number): Promise<HealthBody> {
  const logPath = stateFiles(stateDir).daemonLog;
  const child = (opts.spawn ?? spawnKmd)({ stateDir, env: opts.env });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await probe(client, Math.max(100, Math.min(PROBE_TIMEOUT_MS, deadline - Date.now())));
    if (health) return health;
    const code = child.exitCode();
    if (code !== null) {
      throw new KmError('daemon_unavailable', `kmd exited with code ${code} while starting`, { hint: `see ${logPath}` });
    }
    if (Date.now() >= deadline) {
      child.kill();
      throw new KmError('daemon_unavailable', `kmd (pid ${child.pid}) did not become healthy within ${timeoutMs} ms and was stopped`, {
        hint: `see ${logPath}`,
      });
    }
    await sleep(30);
  }
}

/**
 * kmd is not answering. If no kmd holds the instance lock, its socket and pid file are
 * leftovers of a crash: remove them. If one does, give it the timeout to come up (it may be
 * starting), then treat it as hung and stop it.
 */
async function waitOrClear(stateDir: string, client: DaemonClient, timeoutMs: number): Promise<void> {
  if ((await clearStaleFiles(stateDir)).lockFree) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe(client, 500)) return;
    if (!(await isHeld(lockName(stateDir, 'kmd')))) {
      await clearStaleFiles(stateDir);
      return;
    }
    await sleep(50);
  }
  await terminate(stateDir, timeoutMs);
}

export interface StaleCleanup {
  /** No daemon holds the instance lock. */
  lockFree: boolean;
  removed: string[];
}

/** Removes the socket and pid file when (and only when) no kmd is running for stateDir. */
export async function clearStaleFiles(stateDir: string): Promise<StaleCleanup> {
  const files = stateFiles(stateDir);
  const lock = await tryAcquire(lockName(stateDir, 'kmd'));
  if (!lock) return { lockFree: false, removed: [] };
  try {
    const removed = [files.socket, files.pidFile].filter((p) => removeFile(p));
    return { lockFree: true, removed };
  } finally {
    await lock.release();
  }
}

async function waitForExit(stateDir: string, timeoutMs: number): Promise<boolean> {
  const name = lockName(stateDir, 'kmd');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isHeld(name))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

export type StopMethod = 'shutdown' | 'sigterm' | 'sigkill';

/** Asks kmd to shut down; escalates to signals (only to a pid verified as kmd). */
async function stopRunning(stateDir: string, client: DaemonClient, timeoutMs: number): Promise<StopMethod> {
  try {
    await client.request('POST', '/v1/shutdown', undefined, { timeoutMs: PROBE_TIMEOUT_MS });
    if (await waitForExit(stateDir, timeoutMs)) {
      await clearStaleFiles(stateDir);
      return 'shutdown';
    }
  } catch (e) {
    if (!isKmError(e) || (e.code !== 'daemon_unavailable' && e.code !== 'timeout' && e.code !== 'not_found')) throw e;
  }
  return terminate(stateDir, timeoutMs);
}

async function terminate(stateDir: string, timeoutMs: number): Promise<StopMethod> {
  const files = stateFiles(stateDir);
  const pid = readPidFile(files.pidFile);
  if (pid === undefined || !isKmdProcess(pid)) {
    if (await waitForExit(stateDir, 0)) return 'shutdown';
    throw new KmError('daemon_unavailable', `kmd for ${stateDir} is not answering and its pid is unknown`, {
      hint: `find it with \`pgrep -af kmd\`, stop it, then retry; see ${files.daemonLog}`,
    });
  }
  for (const [signal, method] of [['SIGTERM', 'sigterm'], ['SIGKILL', 'sigkill']] as const) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
    if (await waitForExit(stateDir, timeoutMs)) {
      await clearStaleFiles(stateDir);
      return method;
    }
  }
  throw new KmError('daemon_unavailable', `kmd (pid ${pid}) did not exit after SIGKILL`, { hint: `see ${files.daemonLog}` });
}

export interface DaemonStatus {
  running: boolean;
  pid: number | null;
  version: string | null;
  socket: string;
  uptime_s: number | null;
  started_at: string | null;
}

/** Reports on kmd without starting it. */
export async function daemonStatus(opts: LifecycleOptions): Promise<DaemonStatus> {
  const s = setup(opts);
  const h = await probe(s.client);
  if (!h) return { running: false, pid: null, version: null, socket: s.files.socket, uptime_s: null, started_at: null };
  return { running: true, pid: h.pid, version: h.version, socket: s.files.socket, uptime_s: h.uptime_s, started_at: h.started_at };
}

export interface StopResult {
  was_running: boolean;
  pid: number | null;
  method: StopMethod | null;
  removed: string[];
}

/** Stops kmd if it runs (idempotent) and removes leftovers of a crashed one. */
export async function stopDaemon(opts: LifecycleOptions): Promise<StopResult> {
  const s = setup(opts);
  const lock = await acquire(lockName(s.stateDir, 'start'), s.timeoutMs * 2, 'another km process starting kmd');
  try {
    const h = await probe(s.client);
    const hung = !h && (await isHeld(lockName(s.stateDir, 'kmd')));
    let method: StopMethod | null = null;
    const pid = h?.pid ?? (hung ? (readPidFile(s.files.pidFile) ?? null) : null);
    if (h) method = await stopRunning(s.stateDir, s.client, s.timeoutMs);
    else if (hung) method = await terminate(s.stateDir, s.timeoutMs);
    const stale = [s.files.socket, s.files.pidFile].filter((p) => existsSync(p));
    const removed = stale.length > 0 ? (await clearStaleFiles(s.stateDir)).removed : [];
    return { was_running: h !== undefined || hung, pid, method, removed };
  } finally {
    await lock.release();
  }
}
