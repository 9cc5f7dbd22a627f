/**
 * Running kmd in the current process (`kmd`, `km daemon start --foreground`): build the
 * services, serve until SIGTERM/SIGINT or POST /v1/shutdown, then close gracefully.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { KM_VERSION } from '../cli/version.ts';
import { createDaemon, type DaemonHandle } from './server.ts';
import { jsonLineLog } from './service.ts';
import { kmdServices } from './services.ts';

export interface RunKmdOptions {
  stateDir: string;
  /** Where the JSON-lines log goes (kmd.log when started on demand). */
  logStream: NodeJS.WritableStream;
  clock?: Clock;
  /** Log request lines too (default false). */
  debug?: boolean;
  /** Called once the daemon listens. */
  onReady?: (daemon: DaemonHandle) => void;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Resolves when kmd has shut down. Rejects if it cannot start (e.g. already running). */
export async function runKmd(opts: RunKmdOptions): Promise<void> {
  const clock = opts.clock ?? systemClock;
  const log = jsonLineLog(opts.logStream, clock, opts.debug ? 'debug' : 'info');
  const daemon = await createDaemon({ clock, version: KM_VERSION, services: kmdServices(), log }, { stateDir: opts.stateDir });
  const onSignal = (signal: NodeJS.Signals) => {
    log('info', 'signal received', { signal });
    void daemon.close();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    opts.onReady?.(daemon);
    await daemon.closed;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
