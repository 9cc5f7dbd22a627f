/**
 * The schedule grammar (pure core): plain-English phrases and cron expressions → schedules,
 * DST-correct next fire times, EventBridge Scheduler expressions and schedule names.
 * No clock, no environment: the reference time and the zone are parameters.
 *
 * Expressions: one-shots are RFC 3339 instants with the zone's offset; wall-clock
 * recurrences are 5-field crons read in the schedule's zone (DST: a skipped time fires at
 * the end of the gap, a repeated one once, the first time); fixed intervals are
 * `rate(N unit)` counted from `anchorMs`. Besides EventBridge's units, intervals and
 * one-shots may be given in seconds ("every 10 seconds", "in 30 seconds") for tests and
 * short local schedules; an interval that is not a whole number of minutes has no
 * EventBridge form (`awsExpression: null`) and runs on the local scheduler only.
 */
export type { Schedule, ScheduleKind, ParseOptions, ParseResult, ParseFailure } from './types.ts';
export { parseSchedule, parseCronOption, nextFireTimes, toEventBridgeExpression } from './schedule.ts';
export { scheduleName, customScheduleName, sanitizeName, uniqueName, MAX_NAME_LENGTH } from './name.ts';
export { checkTimeZone, isUtcName, createZone, formatInZone, type Zone, type WallTime } from './zone.ts';
export { parseTimeOfDay, type TimeOfDay } from './time-of-day.ts';
