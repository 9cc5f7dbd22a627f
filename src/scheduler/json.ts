/** The JSON shapes of schedules and fires (SPEC §0.3: snake_case keys, RFC 3339 UTC times). */
import { toIso } from '../core/clock.ts';
import { nextFireTimes } from '../schedule-grammar/index.ts';
import type { FireRecord, ScheduleRecord } from '../store/index.ts';
import { timingOf } from './stored.ts';

export interface ScheduleJson {
  name: string;
  command: string[];
  target: string | null;
  input: string;
  kind: 'once' | 'recurring';
  expression: string;
  aws_expression: string | null;
  timezone: string;
  status: ScheduleRecord['status'];
  created_at: string;
  next_fire_at: string | null;
  /** The next three fires (empty when none is pending). */
  next_fire_times: string[];
  last_fire_at: string | null;
  last_outcome: ScheduleRecord['lastOutcome'];
  /** A fire is executing now. */
  running: boolean;
}

export interface FireJson {
  name: string;
  fire_at: string;
  executed_at: string;
  delay_s: number;
  outcome: FireRecord['outcome'];
  detail: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : toIso(ms));

export function scheduleJson(r: ScheduleRecord): ScheduleJson {
  const next = r.status === 'active' ? r.nextFireAtMs : null;
  const times = next === null ? [] : [next, ...(r.kind === 'recurring' ? nextFireTimes(timingOf(r), next, 2) : [])];
  return {
    name: r.name,
    command: r.command,
    target: r.target,
    input: r.input,
    kind: r.kind,
    expression: r.expression,
    aws_expression: r.awsExpression,
    timezone: r.timezone,
    status: r.status,
    created_at: toIso(r.createdAtMs),
    next_fire_at: iso(next),
    next_fire_times: times.map(toIso),
    last_fire_at: iso(r.lastFireAtMs),
    last_outcome: r.lastOutcome,
    running: r.runningSinceMs !== null,
  };
}

export function fireJson(f: FireRecord): FireJson {
  return { name: f.name, fire_at: toIso(f.fireAtMs), executed_at: toIso(f.executedAtMs), delay_s: f.delayS, outcome: f.outcome, detail: f.detail };
}
