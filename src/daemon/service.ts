/**
 * Services are the parts that live as long as the daemon: gateways, the reconciler, the
 * scheduler, the OTLP receiver. Each is started in order with the daemon (and may register
 * routes), and closed in reverse order on shutdown.
 */
import type { Clock } from '../core/clock.ts';
import type { Router } from './router.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured log line; never pass secrets or request bodies. */
export type DaemonLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export const silentLog: DaemonLog = () => {};

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One JSON object per line, for `$KM_HOME/kmd.log`; lines below `minLevel` are dropped. */
export function jsonLineLog(stream: NodeJS.WritableStream, clock: Clock, minLevel: LogLevel = 'info'): DaemonLog {
  return (level, message, fields) => {
    if (RANK[level] < RANK[minLevel]) return;
    const line = { time: new Date(clock.now()).toISOString(), level, message, ...fields };
    stream.write(JSON.stringify(line) + '\n');
  };
}

export interface ServiceContext {
  readonly router: Router;
  readonly stateDir: string;
  readonly clock: Clock;
  readonly log: DaemonLog;
  /** Aborted when the daemon begins shutting down. */
  readonly signal: AbortSignal;
}

export interface ServiceHandle {
  close(): Promise<void>;
}

export interface DaemonService {
  readonly name: string;
  /** Starts the service; returning nothing means there is nothing to close. */
  start(ctx: ServiceContext): Promise<ServiceHandle | void> | ServiceHandle | void;
}

export interface StartedService {
  readonly name: string;
  readonly handle: ServiceHandle | undefined;
}

/** Starts services in order; if one fails, closes those already started and rethrows. */
export async function startServices(services: readonly DaemonService[], ctx: ServiceContext): Promise<StartedService[]> {
  const started: StartedService[] = [];
  for (const s of services) {
    try {
      const handle = (await s.start(ctx)) ?? undefined;
      started.push({ name: s.name, handle });
      ctx.log('info', 'service started', { service: s.name });
    } catch (e) {
      ctx.log('error', 'service failed to start', { service: s.name, error: e instanceof Error ? e.message : String(e) });
      await closeServices(started, ctx.log);
      throw e;
    }
  }
  return started;
}

/** Closes in reverse start order; a failing close is logged and the rest still close. */
export async function closeServices(started: readonly StartedService[], log: DaemonLog): Promise<void> {
  for (const s of [...started].reverse()) {
    if (!s.handle) continue;
    try {
      await s.handle.close();
      log('info', 'service closed', { service: s.name });
    } catch (e) {
      log('error', 'service failed to close', { service: s.name, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
