/**
 * kmd's server: HTTP/1.1 on `$KM_HOME/kmd.sock` (mode 0600, state directory 0700), one
 * instance per state directory (kernel-held lock), a pid file, core routes, and services
 * started in order and closed in reverse.
 */
import { chmodSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { stateFiles } from '../config/paths.ts';
import { dispatch } from './http.ts';
import { lockName, tryAcquire, type LockHandle } from './lock.ts';
import { removeFile, removePidFileIfOurs, socketPathProblem } from './files.ts';
import { registerCoreRoutes } from './core-routes.ts';
import { createRouter, type Router } from './router.ts';
import { dispatchUpgrade } from './upgrade.ts';
import { closeServices, silentLog, startServices, type DaemonLog, type DaemonService, type StartedService } from './service.ts';

export interface DaemonDeps {
  clock: Clock;
  /** The version reported by /v1/health (the CLI restarts a daemon whose version differs). */
  version: string;
  services?: readonly DaemonService[];
  log?: DaemonLog;
  /** Defaults to process.pid. */
  pid?: number;
}

export interface DaemonOptions {
  stateDir: string;
  /** How long close() lets in-flight requests finish before cutting connections. */
  closeGraceMs?: number;
}

export interface DaemonHandle {
  readonly socketPath: string;
  readonly pidFile: string;
  readonly router: Router;
  readonly startedAt: number;
  /** Resolves once the daemon has closed (after close() or POST /v1/shutdown). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

function prepareStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const st = statSync(stateDir);
  if (typeof process.getuid === 'function' && st.uid === process.getuid() && (st.mode & 0o077) !== 0) {
    chmodSync(stateDir, 0o700);
  }
}

function listenUnix(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export async function createDaemon(deps: DaemonDeps, options: DaemonOptions): Promise<DaemonHandle> {
  const log = deps.log ?? silentLog;
  const pid = deps.pid ?? process.pid;
  const files = stateFiles(options.stateDir);
  const tooLong = socketPathProblem(files.socket);
  if (tooLong) throw tooLong;
  prepareStateDir(options.stateDir);
  const lock = await tryAcquire(lockName(options.stateDir, 'kmd'));
  if (!lock) {
    throw new KmError('invalid_state', `kmd is already running for ${options.stateDir}`, {
      hint: 'use `km daemon status`, or `km daemon stop` first',
    });
  }
  // We hold the instance lock, so any socket or pid file left here is from a dead daemon.
  removeFile(files.socket);
  removeFile(files.pidFile);
  const startedAt = deps.clock.now();
  const shutdown = new AbortController();
  const router = createRouter();
  let started: StartedService[] = [];
  let server: Server | undefined;
  const sessions = new Set<Duplex>();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= shutdownAll({ server, sessions, started, lock, files, pid, log, shutdown, graceMs: options.closeGraceMs ?? 2000 }).then(resolveClosed);
    return closing;
  };

  registerCoreRoutes(router, { version: deps.version, pid, startedAt, clock: deps.clock, requestShutdown: () => void close() });
  try {
    started = await startServices(deps.services ?? [], { router, stateDir: options.stateDir, clock: deps.clock, log, signal: shutdown.signal });
    server = createServer({ keepAlive: true }, (req, res) => void dispatch({ router, clock: deps.clock, log, shutdown: shutdown.signal }, req, res));
    server.on('upgrade', (req, socket, head) => dispatchUpgrade({ router, log, sessions }, req, socket, head));
    await listenUnix(server, files.socket);
    chmodSync(files.socket, 0o600);
    writePidFile(files.pidFile, pid);
  } catch (e) {
    await close();
    throw e;
  }
  log('info', 'kmd started', { pid, version: deps.version, socket: files.socket });
  return { socketPath: files.socket, pidFile: files.pidFile, router, startedAt, closed, close };
}

interface ShutdownState {
  server: Server | undefined;
  sessions: Set<Duplex>;
  started: StartedService[];
  lock: LockHandle;
  files: ReturnType<typeof stateFiles>;
  pid: number;
  log: DaemonLog;
  shutdown: AbortController;
  graceMs: number;
}

async function shutdownAll(s: ShutdownState): Promise<void> {
  s.log('info', 'kmd stopping', { pid: s.pid });
  s.shutdown.abort(new KmError('daemon_unavailable', 'kmd is shutting down'));
  if (s.server?.listening) await closeServer(s.server, s.sessions, s.graceMs);
  await closeServices(s.started, s.log);
  removeFile(s.files.socket);
  removePidFileIfOurs(s.files.pidFile, s.pid);
  await s.lock.release();
  s.log('info', 'kmd stopped', { pid: s.pid });
}

function closeServer(server: Server, sessions: Set<Duplex>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      for (const socket of sessions) socket.destroy();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
