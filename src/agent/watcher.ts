/**
 * The kmd side of agent runs: every few seconds, every `running` run is brought up to date
 * (`refreshRun`), so results are composed and stored even when no `km agent run --wait` is
 * watching, and runs whose sandbox was stopped or destroyed under them (TTL, idle, operator)
 * end `cancelled` with the reason. After a kmd restart the first sweep picks every run up
 * again: the store and the run directory inside the sandbox hold all the state. Queued runs
 * (SPEC §10.6) are started here, one at a time, in order.
 */
import { createRedactor } from '../audit/index.ts';
import { loadOperatorConfig, sqliteStorePath } from '../config/index.ts';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { DaemonService } from '../daemon/index.ts';
import { createEventRecorder, sandboxPaths } from '../sandbox/index.ts';
import { openSqliteStore, SANDBOX_STATUSES, type SandboxRecord, type Store } from '../store/index.ts';
import { createLocalSubstrate, type Substrate } from '../substrate/index.ts';
import { startNextQueued } from './queue.ts';
import { isOpen, refreshRun, type RunDeps } from './runs.ts';

export interface RunWatcherDeps {
  store: Store;
  clock: Clock;
  /** A substrate able to exec into the (running) sandbox. */
  substrateFor(sandboxId: string): Promise<Substrate>;
  recordEvent?: RunDeps['recordEvent'];
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface RunWatcher {
  /** One pass over every running run; returns how many changed status. */
  sweep(): Promise<number>;
}

/** Stands in for the substrate of a sandbox that is not running (refreshRun never execs into one). */
function unreachable(id: string): Substrate {
  return new Proxy({} as Substrate, {
    get: (_, k) => (k === 'then' ? undefined : () => Promise.reject(new KmError('invalid_state', `${id} is not running`))),
  });
}

/** Starts (or cancels) queued runs of a running sandbox (SPEC §10.6). */
async function startQueued(deps: RunWatcherDeps, sandbox: SandboxRecord): Promise<number> {
  try {
    const substrate = await deps.substrateFor(sandbox.id);
    const changed = await startNextQueued({ store: deps.store, substrate, clock: deps.clock, ...(deps.recordEvent ? { recordEvent: deps.recordEvent } : {}) }, sandbox);
    for (const r of changed) deps.log?.('info', 'queued agent run', { sandbox_id: sandbox.id, run_id: r.runId, status: r.status });
    return changed.length;
  } catch (e) {
    deps.log?.('warn', 'starting a queued agent run failed', { sandbox_id: sandbox.id, error: e instanceof Error ? e.message : String(e) });
    return 0;
  }
}

export function createRunWatcher(deps: RunWatcherDeps): RunWatcher {
  return {
    async sweep() {
      let changed = 0;
      for (const sandbox of await deps.store.listSandboxes({ statuses: SANDBOX_STATUSES })) {
        const runs = await deps.store.listRuns(sandbox.id, { statuses: ['running', 'queued', 'budget_exhausted'] });
        if (runs.length === 0) continue;
        for (const run of runs) {
          if (!isOpen(run)) continue;
          try {
            const substrate = sandbox.status === 'running' ? await deps.substrateFor(sandbox.id) : unreachable(sandbox.id);
            const after = await refreshRun({ store: deps.store, substrate, clock: deps.clock, ...(deps.recordEvent ? { recordEvent: deps.recordEvent } : {}) }, sandbox, run);
            if (after.status !== run.status) {
              changed++;
              deps.log?.('info', 'agent run ended', { sandbox_id: sandbox.id, run_id: run.runId, status: after.status });
            }
          } catch (e) {
            deps.log?.('warn', 'agent run refresh failed', { sandbox_id: sandbox.id, run_id: run.runId, error: e instanceof Error ? e.message : String(e) });
          }
        }
        if (sandbox.status === 'running' && runs.some((r) => r.status === 'queued')) changed += await startQueued(deps, sandbox);
      }
      return changed;
    },
  };
}

/** The kmd service: a run watcher over the local substrate, sweeping every `everyMs`. */
export function agentRunsDaemonService(options: { env?: NodeJS.ProcessEnv; everyMs?: number } = {}): DaemonService {
  return {
    name: 'agent-runs',
    async start(ctx) {
      const env = options.env ?? process.env;
      const { config } = await loadOperatorConfig({ env, cwd: ctx.stateDir });
      const store = await openSqliteStore(sqliteStorePath(config, { stateDir: ctx.stateDir, cwd: ctx.stateDir, env }), { clock: ctx.clock });
      const events = createEventRecorder({ store, redactor: createRedactor({ literals: config.audit.redact_literals }), clock: ctx.clock });
      const local = createLocalSubstrate({ kmHome: ctx.stateDir });
      const adopted = new Set<string>();
      const watcher = createRunWatcher({
        store, clock: ctx.clock,
        async substrateFor(id) {
          if (!adopted.has(id)) {
            await local.adopt(id, sandboxPaths(ctx.stateDir, id).stateDir);
            adopted.add(id);
          }
          return local;
        },
        recordEvent: (id, type, detail, source) => events.record(id, type, source ?? 'kmd', detail),
        log: (l, m, f) => ctx.log(l, m, f),
      });
      let running: Promise<unknown> | undefined;
      const tick = () => {
        running ??= watcher.sweep().finally(() => (running = undefined));
      };
      tick();
      const timer = setInterval(tick, options.everyMs ?? 3000);
      timer.unref();
      return {
        async close() {
          clearInterval(timer);
          await running;
          await local.close();
          await store.close();
        },
      };
    },
  };
}
