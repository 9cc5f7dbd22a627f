import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTimeZone, createZone, formatInZone } from './index.ts';

test('zone names: IANA names in any case are accepted and spelled conventionally', () => {
  const cases: Array<[string, string]> = [
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['AMERICA/NEW_YORK', 'America/New_York'],
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['asia/kolkata', 'Asia/Kolkata'],
    ['utc', 'UTC'],
    ['Etc/UTC', 'UTC'],
    ['America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
  ];
  for (const [input, out] of cases) assert.deepEqual(checkTimeZone(input), { ok: true, timeZone: out }, input);
  for (const bad of ['Mars/Olympus', '+01:00', '-05:00', 'Europe/', '/Berlin', '', 'Europe/Berlin; rm -rf']) {
    const r = checkTimeZone(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.equal(r.message, `unknown time zone "${bad}": use an IANA zone name such as Europe/Berlin, America/New_York or UTC`);
  }
});

test('offsets, including half and three-quarter hours and negative ones', () => {
  const t = Date.parse('2027-01-15T12:00:00Z');
  const cases: Array<[string, string]> = [
    ['UTC', '2027-01-15T12:00:00+00:00'],
    ['Europe/Berlin', '2027-01-15T13:00:00+01:00'],
    ['America/New_York', '2027-01-15T07:00:00-05:00'],
    ['Asia/Kolkata', '2027-01-15T17:30:00+05:30'],
    ['Asia/Kathmandu', '2027-01-15T17:45:00+05:45'],
    ['America/St_Johns', '2027-01-15T08:30:00-03:30'],
    ['Pacific/Kiritimati', '2027-01-16T02:00:00+14:00'],
  ];
  for (const [zone, out] of cases) assert.equal(formatInZone(t, createZone(zone)), out, zone);
});

test('wall time → instant: plain, in the gap (end of gap), in the repeat (first occurrence)', () => {
  const berlin = createZone('Europe/Berlin');
  const ny = createZone('America/New_York');
  const iso = (ms: number) => new Date(ms).toISOString();
  assert.equal(iso(berlin.toInstant({ year: 2027, month: 3, day: 3, hour: 19, minute: 45, second: 0 })), '2027-03-03T18:45:00.000Z');
  assert.equal(iso(berlin.toInstant({ year: 2027, month: 3, day: 28, hour: 2, minute: 0, second: 0 })), '2027-03-28T01:00:00.000Z');
  assert.equal(iso(berlin.toInstant({ year: 2027, month: 3, day: 28, hour: 2, minute: 59, second: 59 })), '2027-03-28T01:00:00.000Z');
  assert.equal(iso(berlin.toInstant({ year: 2027, month: 3, day: 28, hour: 3, minute: 0, second: 0 })), '2027-03-28T01:00:00.000Z');
  assert.equal(iso(berlin.toInstant({ year: 2027, month: 3, day: 28, hour: 1, minute: 59, second: 59 })), '2027-03-28T00:59:59.000Z');
  assert.equal(iso(ny.toInstant({ year: 2027, month: 11, day: 7, hour: 1, minute: 30, second: 0 })), '2027-11-07T05:30:00.000Z');
  assert.equal(iso(ny.toInstant({ year: 2027, month: 11, day: 7, hour: 2, minute: 0, second: 0 })), '2027-11-07T07:00:00.000Z');
  assert.deepEqual(ny.toWall(Date.parse('2027-11-07T06:30:00Z')), { year: 2027, month: 11, day: 7, hour: 1, minute: 30, second: 0, weekday: 0 });
});
