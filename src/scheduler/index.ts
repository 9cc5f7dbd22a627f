/**
 * The local scheduler of `km at` (SPEC §11.4): schedules saved through kmd, fired on time
 * by kmd through the same routes the CLI uses, recorded (history + `schedule.fired`
 * events), surviving restarts with the missed-fire policy.
 */
export {
  SCHEDULED_COMMAND_NAMES,
  ScheduledCommandSchema,
  commandSandbox,
  decodeCommand,
  type DecodedCommand,
  type ScheduledCommand,
  type ScheduledCommandName,
  type ScheduledCreate,
} from './command.ts';
export { createDispatch, notAvailable, type DispatchContext, type DispatchHandlers, type DispatchResult, type ScheduledDispatch } from './dispatch.ts';
export { createScheduler, type FiredEvent, type Scheduler, type SchedulerDeps, type SchedulerLog } from './scheduler.ts';
export { planFires, dueFires, MAX_SKIPPED_ROWS, type FirePlan, type ScheduleTiming } from './plan.ts';
export { newScheduleFrom, type ScheduleDefinition } from './definition.ts';
export { scheduleJson, fireJson, type ScheduleJson, type FireJson } from './json.ts';
export { registerScheduleRoutes, type ScheduleRouteDeps } from './routes.ts';
export { createKmdDispatch, type KmdDispatchDeps } from './kmd-handlers.ts';
export { schedulerDaemonService, type SchedulerServiceOptions } from './daemon-service.ts';
export { systemTimers, createManualTimers, MAX_TIMER_DELAY_MS, type ManualTimers, type TimerHandle, type Timers } from './timers.ts';
export type { SchedulePayload } from './stored.ts';
