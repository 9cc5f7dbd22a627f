import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { createZone, formatInZone, nextFireTimes, parseCronOption, parseSchedule, type ParseResult } from './index.ts';

function ok(r: ParseResult) {
  if (!r.ok) assert.fail(`expected a schedule, got: ${r.message}`);
  return r.schedule;
}

const fires = (phrase: string, nowIso: string, timeZone: string, n: number, cron = false): string[] => {
  const now = Date.parse(nowIso);
  const s = ok(cron ? parseCronOption(phrase, { now, timeZone }) : parseSchedule(phrase, { now, timeZone }));
  const zone = createZone(timeZone);
  return nextFireTimes(s, now, n).map((t) => formatInZone(t, zone));
};

test('Europe/Berlin spring forward (2027-03-28, 02:00 → 03:00): 02:30 fires at the first instant after the gap', () => {
  assert.deepEqual(fires('every day at 2:30am', '2027-03-26T12:00:00+01:00', 'Europe/Berlin', 4), [
    '2027-03-27T02:30:00+01:00',
    '2027-03-28T03:00:00+02:00',
    '2027-03-29T02:30:00+02:00',
    '2027-03-30T02:30:00+02:00',
  ]);
  // One fire per wall time, never two at 03:00: the gap's 02:00 and 02:30 collapse with 03:00.
  assert.deepEqual(fires('*/30 2-3 * * *', '2027-03-27T12:00:00+01:00', 'Europe/Berlin', 3, true), [
    '2027-03-28T03:00:00+02:00',
    '2027-03-28T03:30:00+02:00',
    '2027-03-29T02:00:00+02:00',
  ]);
  const once = ok(parseSchedule('tomorrow 02:30', { now: Date.parse('2027-03-27T12:00:00+01:00'), timeZone: 'Europe/Berlin' }));
  assert.equal(once.expression, '2027-03-28T03:00:00+02:00');
  assert.equal(once.awsExpression, 'at(2027-03-28T03:00:00)');
});

test('Europe/Berlin fall back (2027-10-31, 03:00 → 02:00): 02:30 fires once, the first time', () => {
  assert.deepEqual(fires('every day at 2:30am', '2027-10-30T12:00:00+02:00', 'Europe/Berlin', 3), [
    '2027-10-31T02:30:00+02:00',
    '2027-11-01T02:30:00+01:00',
    '2027-11-02T02:30:00+01:00',
  ]);
});

test('America/New_York fall back (2027-11-07, 02:00 → 01:00): 01:30 fires once, the first time', () => {
  const out = fires('every day at 1:30am', '2027-11-05T12:00:00-04:00', 'America/New_York', 3);
  assert.deepEqual(out, ['2027-11-06T01:30:00-04:00', '2027-11-07T01:30:00-04:00', '2027-11-08T01:30:00-05:00']);
  assert.equal(Date.parse(out[1] as string), Date.parse('2027-11-07T05:30:00Z'));
  const once = ok(parseSchedule('tomorrow 01:30', { now: Date.parse('2027-11-06T12:00:00-04:00'), timeZone: 'America/New_York' }));
  assert.equal(once.expression, '2027-11-07T01:30:00-04:00');
  // Half-hourly wall-clock cron: the repeated hour is not run twice.
  assert.deepEqual(fires('*/30 1-2 * * *', '2027-11-06T12:00:00-04:00', 'America/New_York', 4, true), [
    '2027-11-07T01:00:00-04:00',
    '2027-11-07T01:30:00-04:00',
    '2027-11-07T02:00:00-05:00',
    '2027-11-07T02:30:00-05:00',
  ]);
});

test('several minutes inside the gap fire once, at its end', () => {
  assert.deepEqual(fires('5-59/15 1-3 * * *', '2027-03-28T01:55:00+01:00', 'Europe/Berlin', 3, true), [
    '2027-03-28T03:00:00+02:00',
    '2027-03-28T03:05:00+02:00',
    '2027-03-28T03:20:00+02:00',
  ]);
});

test('America/New_York spring forward (2027-03-14, 02:00 → 03:00)', () => {
  assert.deepEqual(fires('every weekend at 2:15am', '2027-03-12T12:00:00-05:00', 'America/New_York', 3), [
    '2027-03-13T02:15:00-05:00',
    '2027-03-14T03:00:00-04:00',
    '2027-03-20T02:15:00-04:00',
  ]);
});

test('every N hours is a fixed interval from creation, across DST', () => {
  const out = fires('every 2 hours', '2027-11-07T00:00:00-04:00', 'America/New_York', 4);
  assert.deepEqual(out, ['2027-11-07T01:00:00-05:00', '2027-11-07T03:00:00-05:00', '2027-11-07T05:00:00-05:00', '2027-11-07T07:00:00-05:00']);
  const ms = out.map((t) => Date.parse(t));
  for (let i = 1; i < ms.length; i++) assert.equal((ms[i] as number) - (ms[i - 1] as number), 2 * 3_600_000);
  const spring = fires('every 30 minutes', '2027-03-28T01:15:00+01:00', 'Europe/Berlin', 3);
  assert.deepEqual(spring, ['2027-03-28T01:45:00+01:00', '2027-03-28T03:15:00+02:00', '2027-03-28T03:45:00+02:00']);
});

test('next fire times skip the anchor and count from any later instant', () => {
  const now = Date.parse('2027-03-03T08:15:00Z');
  const s = ok(parseSchedule('every 15 minutes', { now, timeZone: 'UTC' }));
  const later = Date.parse('2027-03-03T09:00:00Z');
  assert.deepEqual(nextFireTimes(s, later, 2).map((t) => new Date(t).toISOString()), ['2027-03-03T09:15:00.000Z', '2027-03-03T09:30:00.000Z']);
  assert.deepEqual(nextFireTimes(s, later - 1, 1).map((t) => new Date(t).toISOString()), ['2027-03-03T09:00:00.000Z']);
  assert.deepEqual(nextFireTimes(s, later, 0), []);
});

test('a schedule can be evaluated in another zone than its own', () => {
  const now = Date.parse('2027-03-03T08:15:00Z');
  const s = ok(parseSchedule('every day at 9am', { now, timeZone: 'UTC' }));
  const [first] = nextFireTimes(s, now, 1, 'Asia/Kolkata');
  assert.equal(new Date(first as number).toISOString(), '2027-03-04T03:30:00.000Z');
});

/**
 * Cross-check against croner, an independent implementation, from starts around both DST
 * changes, in four zones. croner follows the same rules for a single time in the gap (02:30
 * → 03:00) and the repeat, but drops several gap minutes of one hour (02:05, 02:20, …) where
 * SPEC §11.2 fires once at the end of the gap; that case is tested above, not here.
 */
test('next fire times agree with croner', () => {
  const expressions = ['45 19 * * 1-5', '0 9 * * *', '30 2 * * *', '30 1 * * *', '*/20 * * * *', '0 0 1 * *', '15 3 * * 0,6', '0 12 29 2 *', '5-59/15 4-6 * * *'];
  const zones = ['Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata'];
  const starts = ['2027-01-01T00:00:00Z', '2027-03-27T22:00:00Z', '2027-03-13T20:00:00Z', '2027-10-30T20:00:00Z', '2027-11-06T20:00:00Z'];
  for (const expr of expressions) {
    for (const timeZone of zones) {
      for (const start of starts) {
        const now = Date.parse(start);
        const s = ok(parseCronOption(expr, { now, timeZone }));
        const ours = nextFireTimes(s, now, 12).map((t) => new Date(t).toISOString());
        const theirs = new Cron(expr, { timezone: timeZone, paused: true }).nextRuns(12, new Date(now)).map((d) => d.toISOString());
        assert.deepEqual(ours, theirs, `${expr} in ${timeZone} from ${start}`);
      }
    }
  }
});
