/** What the scheduler keeps in a schedule record's payload, and how it reads it back. */
import type { ScheduleRecord } from '../store/index.ts';
import { decodeCommand, type DecodedCommand, type ScheduledCommand } from './command.ts';
import type { ScheduleTiming } from './plan.ts';

export interface SchedulePayload {
  version: 1;
  /** Creation instant that fixed intervals count from (null for other schedules). */
  anchorMs: number | null;
  command: ScheduledCommand;
}

const payloadOf = (r: ScheduleRecord): Partial<SchedulePayload> =>
  r.payload !== null && typeof r.payload === 'object' ? (r.payload as Partial<SchedulePayload>) : {};

export function timingOf(r: ScheduleRecord): ScheduleTiming {
  const anchor = payloadOf(r).anchorMs;
  return { kind: r.kind, expression: r.expression, timeZone: r.timezone, anchorMs: typeof anchor === 'number' ? anchor : r.createdAtMs };
}

/** The stored command; a payload from another version or a damaged row is refused. */
export function storedCommand(r: ScheduleRecord): DecodedCommand {
  const p = payloadOf(r);
  if (p.version !== 1) return { ok: false, message: `schedule payload version ${String(p.version)} is not understood by this version` };
  return decodeCommand(p.command);
}
