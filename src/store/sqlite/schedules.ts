/** Schedules and their fire history (SPEC §11.4), with a claim marker against overlapping fires. */
import { KmError } from '../../core/errors.ts';
import type { ScheduleStore } from '../store.ts';
import type { FireOutcome, FireRecord, NewSchedule, ScheduleRecord, ScheduleStatus } from '../types.ts';
import type { Db, Row } from './db.ts';
import { json, num, optNum, optStr, placeholders, str } from './rows.ts';

const FINISHED: readonly ScheduleStatus[] = ['completed', 'missed', 'cancelled'];

function decodeSchedule(r: Row): ScheduleRecord {
  return {
    name: str(r, 'name'),
    kind: str(r, 'kind') as ScheduleRecord['kind'],
    input: str(r, 'input'),
    expression: str(r, 'expression'),
    awsExpression: optStr(r, 'aws_expression'),
    timezone: str(r, 'timezone'),
    command: json(r, 'command_json') as string[],
    target: optStr(r, 'target'),
    payload: json(r, 'payload_json'),
    status: str(r, 'status') as ScheduleStatus,
    createdAtMs: num(r, 'created_at_ms'),
    nextFireAtMs: optNum(r, 'next_fire_at_ms'),
    lastFireAtMs: optNum(r, 'last_fire_at_ms'),
    lastOutcome: optStr(r, 'last_outcome') as FireOutcome | null,
    runningSinceMs: optNum(r, 'running_since_ms'),
    runningFireAtMs: optNum(r, 'running_fire_at_ms'),
  };
}

function decodeFire(r: Row): FireRecord {
  return {
    name: str(r, 'name'),
    fireAtMs: num(r, 'fire_at_ms'),
    executedAtMs: num(r, 'executed_at_ms'),
    delayS: num(r, 'delay_s'),
    outcome: str(r, 'outcome') as FireOutcome,
    detail: optStr(r, 'detail'),
  };
}

function insertSchedule(db: Db, s: NewSchedule, name: string): void {
  db.run(
    `INSERT INTO schedules (name, kind, input, expression, aws_expression, timezone, command_json, target, payload_json, status,
       created_at_ms, next_fire_at_ms) VALUES (${placeholders(12)})`,
    name,
    s.kind,
    s.input,
    s.expression,
    s.awsExpression,
    s.timezone,
    JSON.stringify(s.command),
    s.target,
    s.payload === undefined ? null : JSON.stringify(s.payload),
    'active',
    s.createdAtMs,
    s.nextFireAtMs,
  );
}

export function createScheduleStore(db: Db): ScheduleStore {
  const getSync = (name: string): ScheduleRecord | undefined => {
    const r = db.get('SELECT * FROM schedules WHERE name = ?', name);
    return r ? decodeSchedule(r) : undefined;
  };
  const mustGet = (name: string): ScheduleRecord => {
    const s = getSync(name);
    if (!s) throw new KmError('not_found', `no schedule named "${name}"`, { hint: 'see km at list --all' });
    return s;
  };
  return {
    createSchedule: async (schedule, options = {}) =>
      db.tx(() => {
        let name = schedule.name;
        for (let n = 2; getSync(name); n++) {
          if (!options.uniquify) throw new KmError('usage', `a schedule named "${schedule.name}" already exists`, { hint: 'choose another --name, or km at cancel it first' });
          const suffix = `-${n}`;
          name = schedule.name.slice(0, 64 - suffix.length) + suffix;
        }
        insertSchedule(db, schedule, name);
        return mustGet(name);
      }),
    getSchedule: async (name) => getSync(name),
    listSchedules: async (options = {}) => {
      const filter = options.includeFinished ? '' : ` WHERE status NOT IN (${placeholders(FINISHED.length)})`;
      return db.all(`SELECT * FROM schedules${filter} ORDER BY name`, ...(options.includeFinished ? [] : FINISHED)).map(decodeSchedule);
    },
    setScheduleStatus: async (name, from, to) =>
      db.tx(() => {
        const cur = mustGet(name);
        if (!from.includes(cur.status)) {
          throw new KmError('invalid_state', `schedule ${name} is ${cur.status}; this needs it to be ${from.join(' or ')}`, {
            details: { name, current_status: cur.status },
          });
        }
        db.run('UPDATE schedules SET status = ? WHERE name = ? AND status = ?', to, name, cur.status);
        return mustGet(name);
      }),
    setNextFire: async (name, at) => {
      if (db.run('UPDATE schedules SET next_fire_at_ms = ? WHERE name = ?', at, name).changes === 0) mustGet(name);
    },
    claimFire: async (name, fireAtMs, atMs, staleAfterMs) => {
      const staleBefore = staleAfterMs === undefined ? Number.MIN_SAFE_INTEGER : atMs - staleAfterMs;
      const r = db.run(
        `UPDATE schedules SET running_since_ms = ?, running_fire_at_ms = ?
         WHERE name = ? AND status = 'active' AND (running_since_ms IS NULL OR running_since_ms < ?)`,
        atMs,
        fireAtMs,
        name,
        staleBefore,
      );
      if (r.changes === 0) mustGet(name);
      return r.changes === 1;
    },
    recordFire: async (fire, options = {}) =>
      db.tx(() => {
        mustGet(fire.name);
        db.run(
          `INSERT INTO schedule_fires (name, fire_at_ms, executed_at_ms, delay_s, outcome, detail) VALUES (${placeholders(6)})`,
          fire.name,
          fire.fireAtMs,
          fire.executedAtMs,
          fire.delayS,
          fire.outcome,
          fire.detail,
        );
        db.run(
          `UPDATE schedules SET last_fire_at_ms = ?, last_outcome = ? WHERE name = ? AND (last_fire_at_ms IS NULL OR last_fire_at_ms <= ?)`,
          fire.fireAtMs,
          fire.outcome,
          fire.name,
          fire.fireAtMs,
        );
        if (options.releaseClaim) {
          db.run('UPDATE schedules SET running_since_ms = NULL, running_fire_at_ms = NULL WHERE name = ? AND running_fire_at_ms = ?', fire.name, fire.fireAtMs);
        }
      }),
    fireHistory: async (name, options = {}) => {
      const rows = options.limit === undefined
        ? db.all('SELECT * FROM schedule_fires WHERE name = ? ORDER BY seq', name)
        : db.all('SELECT * FROM (SELECT * FROM schedule_fires WHERE name = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq', name, options.limit);
      return rows.map(decodeFire);
    },
  };
}
