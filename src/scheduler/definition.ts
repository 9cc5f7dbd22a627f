/**
 * A schedule as submitted to kmd (`POST /v1/schedules`): checked again here, since the API
 * is a boundary. The time is parsed anew against kmd's clock, so the stored next fire and
 * the interval anchor are kmd's own.
 */
import { KmError } from '../core/errors.ts';
import {
  checkTimeZone,
  nextFireTimes,
  parseCronOption,
  parseSchedule,
  sanitizeName,
  type Schedule,
} from '../schedule-grammar/index.ts';
import type { NewSchedule } from '../store/index.ts';
import { decodeCommand } from './command.ts';
import type { SchedulePayload } from './stored.ts';

export interface ScheduleDefinition {
  name: string;
  /** The phrase, or the `--cron` expression when `cron` is true. */
  input: string;
  cron: boolean;
  timezone: string;
  /** The canonical argv shown to people (numbers already converted to ids). */
  argv: string[];
  /** The schedule's target as shown: alias, id, or for create the alias or profile name. */
  target: string | null;
  /** The structured command (see `command.ts`). */
  command: unknown;
}

type Body = Record<string, unknown>;

const bad = (message: string, hint?: string): KmError => new KmError('usage', message, hint === undefined ? {} : { hint });

function field<T>(b: Body, key: string, ok: (v: unknown) => v is T, what: string): T {
  const v = b[key];
  if (!ok(v)) throw bad(`schedule definition: "${key}" must be ${what}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
const isTarget = (v: unknown): v is string | null => v === null || isString(v);

function parseTime(input: string, cron: boolean, timeZone: string, now: number): Schedule {
  const r = cron ? parseCronOption(input, { now, timeZone }) : parseSchedule(input, { now, timeZone });
  if (!r.ok) throw bad(r.message, r.hint);
  return r.schedule;
}

/** Validates a submitted definition and turns it into the store's record, next fire included. */
export function newScheduleFrom(body: unknown, nowMs: number): NewSchedule {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('schedule definition must be a JSON object');
  const b = body as Body;
  const name = field(b, 'name', isString, 'a schedule name');
  if (sanitizeName(name) !== name) throw bad(`invalid schedule name "${name}": use 1-64 of a-z, 0-9, ".", "_" and "-"`);
  const zone = checkTimeZone(field(b, 'timezone', isString, 'an IANA time zone'));
  if (!zone.ok) throw bad(`schedule definition: ${zone.message}`);
  const input = field(b, 'input', isString, 'the time phrase or cron expression');
  const schedule = parseTime(input, field(b, 'cron', isBool, 'true or false'), zone.timeZone, nowMs);
  const decoded = decodeCommand(b.command);
  if (!decoded.ok) throw bad(decoded.message);
  const next = nextFireTimes(schedule, nowMs, 1)[0];
  if (next === undefined) throw bad(`"${input}" never fires after ${new Date(nowMs).toISOString()}`);
  const payload: SchedulePayload = { version: 1, anchorMs: schedule.anchorMs ?? null, command: decoded.command };
  return {
    name,
    kind: schedule.kind,
    input: schedule.input,
    expression: schedule.expression,
    awsExpression: schedule.awsExpression,
    timezone: schedule.timeZone,
    command: field(b, 'argv', isArgv, 'a list of words'),
    target: field(b, 'target', isTarget, 'a string or null'),
    payload,
    createdAtMs: nowMs,
    nextFireAtMs: next,
  };
}
