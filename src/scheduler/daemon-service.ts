/**
 * The scheduler inside kmd: opens the store, binds the dispatcher to kmd's own sandbox
 * routes (and to the budget top-up and the agent run service), registers `/v1/schedules…`, then loads the active schedules (catching up on
 * fires missed while kmd was down).
 */
import { createRedactor } from '../audit/index.ts';
import { loadOperatorConfig, sqliteStorePath, stateFiles } from '../config/index.ts';
import { parseDuration } from '../core/duration.ts';
import { createDaemonClient, type DaemonService } from '../daemon/index.ts';
import { openSqliteStore, type EventInput } from '../store/index.ts';
import { createLocalSubstrate, type Substrate } from '../substrate/index.ts';
import { createKmdDispatch } from './kmd-handlers.ts';
import { registerScheduleRoutes } from './routes.ts';
import { createScheduler } from './scheduler.ts';
import { systemTimers, type Timers } from './timers.ts';

export interface SchedulerServiceOptions {
  env?: NodeJS.ProcessEnv;
  timers?: Timers;
}

export function schedulerDaemonService(options: SchedulerServiceOptions = {}): DaemonService {
  return {
    name: 'scheduler',
    async start(ctx) {
      const env = options.env ?? process.env;
      const loadConfig = async () => (await loadOperatorConfig({ env, cwd: ctx.stateDir })).config;
      const config = await loadConfig();
      const store = await openSqliteStore(sqliteStorePath(config, { stateDir: ctx.stateDir, cwd: ctx.stateDir, env }), { clock: ctx.clock });
      const redactor = createRedactor({ literals: config.audit.redact_literals });
      const files = stateFiles(ctx.stateDir);
      let local: Substrate | undefined;
      const appendEvents = async (events: EventInput[]): Promise<void> => {
        await store.appendEvents(events.map((e) => ({ ...e, detail: redactor.redactValue(e.detail) })));
      };
      const dispatch = createKmdDispatch({
        client: createDaemonClient(files.socket, { logPath: files.daemonLog }),
        maxSandboxes: async () => (await loadConfig()).max_sandboxes,
        budget: { store, clock: ctx.clock, appendEvents },
        agent: {
          store,
          clock: ctx.clock,
          kmHome: ctx.stateDir,
          substrate: () => (local ??= createLocalSubstrate({ kmHome: ctx.stateDir })),
          recordEvent: (sandboxId, type, detail) => appendEvents([{ timestampMs: ctx.clock.now(), sandboxId, eventType: type, source: 'kmd', detail }]),
        },
      });
      const scheduler = createScheduler({
        store,
        dispatch,
        clock: ctx.clock,
        timers: options.timers ?? systemTimers,
        missedFireGraceMs: parseDuration(config.scheduler.missed_fire_grace, { allowZero: true }) * 1000,
        redact: (text) => redactor.redactString(text),
        recordEvent: (e) => appendEvents([{ timestampMs: e.atMs, sandboxId: e.sandboxId, eventType: 'schedule.fired', source: 'kmd', detail: e.detail }]),
        log: (level, message, fields) => ctx.log(level, message, fields),
      });
      registerScheduleRoutes(ctx.router, { scheduler, store, clock: ctx.clock });
      await scheduler.start();
      return {
        async close() {
          await scheduler.close();
          await local?.close();
          await store.close();
        },
      };
    },
  };
}
