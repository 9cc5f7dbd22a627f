import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createZone, formatInZone, nextFireTimes, parseSchedule, type ParseResult } from './index.ts';

/**
 * Every phrase of SPEC §11.2, with "now" = Wednesday 2027-03-03 08:15:00 local time in each
 * zone (no DST change within the window). Expectations are wall times, so one table serves
 * every zone; the offset column turns them into RFC 3339.
 */
const ZONES: ReadonlyArray<[string, string]> = [
  ['Europe/Berlin', '+01:00'],
  ['America/New_York', '-05:00'],
  ['UTC', '+00:00'],
  ['Asia/Kolkata', '+05:30'],
];

const NOW_WALL = '2027-03-03T08:15:00';

/** New York moves to -04:00 at 2027-03-14 02:00; the other zones keep their offset in March. */
const offsetAt = (zone: string, offset: string, wall: string): string =>
  zone === 'America/New_York' && wall >= '2027-03-14T02:00:00' ? '-04:00' : offset;

const nowIn = (zone: string): number =>
  createZone(zone).toInstant({ year: 2027, month: 3, day: 3, hour: 8, minute: 15, second: 0 });

const ONCE: ReadonlyArray<[phrase: string, wall: string]> = [
  ['in 30 minutes', '2027-03-03T08:45:00'],
  ['in 2 hours', '2027-03-03T10:15:00'],
  ['in 2h', '2027-03-03T10:15:00'],
  ['in 1h30m', '2027-03-03T09:45:00'],
  ['in 1 hour and 5 minutes', '2027-03-03T09:20:00'],
  ['in an hour', '2027-03-03T09:15:00'],
  ['in 3 days', '2027-03-06T08:15:00'],
  ['in 30 seconds', '2027-03-03T08:15:30'],
  ['in 1 week', '2027-03-10T08:15:00'],
  ['tomorrow @ 9am', '2027-03-04T09:00:00'],
  ['5pm tomorrow', '2027-03-04T17:00:00'],
  ['10pm tomorrow', '2027-03-04T22:00:00'],
  ['6am tomorrow', '2027-03-04T06:00:00'],
  ['at 5pm tomorrow', '2027-03-04T17:00:00'],
  ['tomorrow at 5pm', '2027-03-04T17:00:00'],
  ['tomorrow 09:15', '2027-03-04T09:15:00'],
  ['tomorrow 06:30', '2027-03-04T06:30:00'],
  ['12am tomorrow', '2027-03-04T00:00:00'],
  ['12pm tomorrow', '2027-03-04T12:00:00'],
  ['tonight at 11pm', '2027-03-03T23:00:00'],
  ['tonight at midnight', '2027-03-04T00:00:00'],
  ['today at 3pm', '2027-03-03T15:00:00'],
  ['today at 8:16am', '2027-03-03T08:16:00'],
  ['3pm today', '2027-03-03T15:00:00'],
  ['next tuesday at 2pm', '2027-03-09T14:00:00'],
  ['next wednesday at 9am', '2027-03-10T09:00:00'],
  ['next thursday at 9am', '2027-03-04T09:00:00'],
  ['wednesday at 9am', '2027-03-03T09:00:00'],
  ['wednesday at 8am', '2027-03-10T08:00:00'],
  ['friday at 9am', '2027-03-05T09:00:00'],
  ['on fri at 17:00', '2027-03-05T17:00:00'],
  ['Thursday at 21:30', '2027-03-04T21:30:00'],
  ['9am', '2027-03-03T09:00:00'],
  ['8am', '2027-03-04T08:00:00'],
  ['at 9:30pm', '2027-03-03T21:30:00'],
  ['9:30 PM', '2027-03-03T21:30:00'],
  ['21:30', '2027-03-03T21:30:00'],
  ['noon', '2027-03-03T12:00:00'],
  ['midnight', '2027-03-04T00:00:00'],
  ['2027-03-04T06:30', '2027-03-04T06:30:00'],
  ['2027-03-04 06:30:15', '2027-03-04T06:30:15'],
];

const RECURRING: ReadonlyArray<[phrase: string, expression: string, aws: string | null, next: [string, string, string]]> = [
  ['every weekday at 7:45pm', '45 19 * * 1-5', 'cron(45 19 ? * MON-FRI *)', ['2027-03-03T19:45:00', '2027-03-04T19:45:00', '2027-03-05T19:45:00']],
  ['every day at 9am', '0 9 * * *', 'cron(0 9 * * ? *)', ['2027-03-03T09:00:00', '2027-03-04T09:00:00', '2027-03-05T09:00:00']],
  ['daily at 9am', '0 9 * * *', 'cron(0 9 * * ? *)', ['2027-03-03T09:00:00', '2027-03-04T09:00:00', '2027-03-05T09:00:00']],
  ['everyday at 8am', '0 8 * * *', 'cron(0 8 * * ? *)', ['2027-03-04T08:00:00', '2027-03-05T08:00:00', '2027-03-06T08:00:00']],
  ['Every Day At Noon', '0 12 * * *', 'cron(0 12 * * ? *)', ['2027-03-03T12:00:00', '2027-03-04T12:00:00', '2027-03-05T12:00:00']],
  ['every weekday at 11pm', '0 23 * * 1-5', 'cron(0 23 ? * MON-FRI *)', ['2027-03-03T23:00:00', '2027-03-04T23:00:00', '2027-03-05T23:00:00']],
  ['every weekend at 10am', '0 10 * * 0,6', 'cron(0 10 ? * SUN,SAT *)', ['2027-03-06T10:00:00', '2027-03-07T10:00:00', '2027-03-13T10:00:00']],
  ['every thursday at 3pm', '0 15 * * 4', 'cron(0 15 ? * THU *)', ['2027-03-04T15:00:00', '2027-03-11T15:00:00', '2027-03-18T15:00:00']],
  ['every monday at 8:30am', '30 8 * * 1', 'cron(30 8 ? * MON *)', ['2027-03-08T08:30:00', '2027-03-15T08:30:00', '2027-03-22T08:30:00']],
  ['every monday at 9am', '0 9 * * 1', 'cron(0 9 ? * MON *)', ['2027-03-08T09:00:00', '2027-03-15T09:00:00', '2027-03-22T09:00:00']],
  ['every monday, wednesday at 9am', '0 9 * * 1,3', 'cron(0 9 ? * MON,WED *)', ['2027-03-03T09:00:00', '2027-03-08T09:00:00', '2027-03-10T09:00:00']],
  ['every tuesday, wednesday and thursday at midnight', '0 0 * * 2-4', 'cron(0 0 ? * TUE-THU *)', ['2027-03-04T00:00:00', '2027-03-09T00:00:00', '2027-03-10T00:00:00']],
  ['every sun at 21:30', '30 21 * * 0', 'cron(30 21 ? * SUN *)', ['2027-03-07T21:30:00', '2027-03-14T21:30:00', '2027-03-21T21:30:00']],
  ['every 2 hours', 'rate(2 hours)', 'rate(2 hours)', ['2027-03-03T10:15:00', '2027-03-03T12:15:00', '2027-03-03T14:15:00']],
  ['every 15 minutes', 'rate(15 minutes)', 'rate(15 minutes)', ['2027-03-03T08:30:00', '2027-03-03T08:45:00', '2027-03-03T09:00:00']],
  ['every 90 minutes', 'rate(90 minutes)', 'rate(90 minutes)', ['2027-03-03T09:45:00', '2027-03-03T11:15:00', '2027-03-03T12:45:00']],
  ['every 60 minutes', 'rate(1 hour)', 'rate(1 hour)', ['2027-03-03T09:15:00', '2027-03-03T10:15:00', '2027-03-03T11:15:00']],
  ['every 3 days', 'rate(3 days)', 'rate(3 days)', ['2027-03-06T08:15:00', '2027-03-09T08:15:00', '2027-03-12T08:15:00']],
  ['every 1 day', 'rate(1 day)', 'rate(1 day)', ['2027-03-04T08:15:00', '2027-03-05T08:15:00', '2027-03-06T08:15:00']],
  ['every hour', 'rate(1 hour)', 'rate(1 hour)', ['2027-03-03T09:15:00', '2027-03-03T10:15:00', '2027-03-03T11:15:00']],
  ['hourly', 'rate(1 hour)', 'rate(1 hour)', ['2027-03-03T09:15:00', '2027-03-03T10:15:00', '2027-03-03T11:15:00']],
  ['every minute', 'rate(1 minute)', 'rate(1 minute)', ['2027-03-03T08:16:00', '2027-03-03T08:17:00', '2027-03-03T08:18:00']],
  ['every 10 seconds', 'rate(10 seconds)', null, ['2027-03-03T08:15:10', '2027-03-03T08:15:20', '2027-03-03T08:15:30']],
  ['every 120 seconds', 'rate(2 minutes)', 'rate(2 minutes)', ['2027-03-03T08:17:00', '2027-03-03T08:19:00', '2027-03-03T08:21:00']],
];

function ok(r: ParseResult) {
  if (!r.ok) assert.fail(`expected a schedule, got: ${r.message}`);
  return r.schedule;
}

for (const [zone, offset] of ZONES) {
  const now = nowIn(zone);
  const z = createZone(zone);
  test(`one-shot phrases in ${zone}`, () => {
    assert.equal(formatInZone(now, z), NOW_WALL + offset);
    for (const [phrase, wall] of ONCE) {
      const s = ok(parseSchedule(phrase, { now, timeZone: zone }));
      assert.equal(s.kind, 'once', phrase);
      assert.equal(s.expression, wall + offset, phrase);
      assert.equal(s.awsExpression, `at(${wall})`, phrase);
      assert.equal(s.timeZone, zone, phrase);
      assert.equal(s.input, phrase);
      assert.deepEqual(nextFireTimes(s, now, 3).map((t) => formatInZone(t, z)), [wall + offset], phrase);
      assert.deepEqual(nextFireTimes(s, Date.parse(s.expression), 3), [], `${phrase}: nothing after it fired`);
    }
  });

  test(`recurring phrases in ${zone}`, () => {
    for (const [phrase, expression, aws, next] of RECURRING) {
      const s = ok(parseSchedule(phrase, { now, timeZone: zone }));
      assert.equal(s.kind, 'recurring', phrase);
      assert.equal(s.expression, expression, phrase);
      assert.equal(s.awsExpression, aws, phrase);
      assert.equal(s.anchorMs, expression.startsWith('rate(') ? now : undefined, phrase);
      assert.deepEqual(nextFireTimes(s, now, 3).map((t) => formatInZone(t, z)), next.map((w) => w + offsetAt(zone, offset, w)), phrase);
    }
  });
}

test('ISO 8601 with an offset is an absolute instant, shown in the schedule zone', () => {
  const now = Date.parse('2027-03-03T08:15:00Z');
  const cases: Array<[string, string, string]> = [
    ['Europe/Berlin', '2027-03-04T06:30:00+01:00', 'at(2027-03-04T06:30:00)'],
    ['America/New_York', '2027-03-04T00:30:00-05:00', 'at(2027-03-04T00:30:00)'],
    ['Asia/Kolkata', '2027-03-04T11:00:00+05:30', 'at(2027-03-04T11:00:00)'],
    ['UTC', '2027-03-04T05:30:00+00:00', 'at(2027-03-04T05:30:00)'],
  ];
  for (const [zone, expression, aws] of cases) {
    for (const input of ['2027-03-04T06:30:00+01:00', '2027-03-04T05:30Z', '2027-03-04T00:30:00-0500']) {
      const s = ok(parseSchedule(input, { now, timeZone: zone }));
      assert.equal(s.expression, expression, `${input} in ${zone}`);
      assert.equal(s.awsExpression, aws, `${input} in ${zone}`);
    }
  }
});

test('SPEC §11.2 example', () => {
  const now = Date.parse('2027-03-03T08:15:00+01:00');
  const opts = { now, timeZone: 'Europe/Berlin' };
  const weekly = ok(parseSchedule('every weekday at 7:45pm', opts));
  assert.equal(weekly.kind, 'recurring');
  assert.equal(weekly.expression, '45 19 * * 1-5');
  assert.equal(weekly.awsExpression, 'cron(45 19 ? * MON-FRI *)');
  const z = createZone('Europe/Berlin');
  assert.deepEqual(nextFireTimes(weekly, now, 3).map((t) => formatInZone(t, z)), [
    '2027-03-03T19:45:00+01:00',
    '2027-03-04T19:45:00+01:00',
    '2027-03-05T19:45:00+01:00',
  ]);
  const once = ok(parseSchedule('tomorrow 06:30', opts));
  assert.equal(once.kind, 'once');
  assert.equal(once.expression, '2027-03-04T06:30:00+01:00');
  assert.equal(once.awsExpression, 'at(2027-03-04T06:30:00)');
});

const REFUSED: ReadonlyArray<[phrase: string, message: string, extra?: { understood?: string; left?: string; hint?: RegExp }]> = [
  ['5pm tomorrow-ish', 'could not understand "5pm tomorrow-ish": understood "5pm tomorrow", left "-ish"', { understood: '5pm tomorrow', left: '-ish' }],
  ['every day at 9am please', 'could not understand "every day at 9am please": understood "every day at 9am", left "please"', { understood: 'every day at 9am', left: 'please' }],
  ['in 2 hours or so', 'could not understand "in 2 hours or so": understood "in 2 hours", left "or so"'],
  ['sometime soon', 'could not understand "sometime soon"', { hint: /in 2 hours/ }],
  ['', 'the schedule phrase is empty'],
  ['friday', '"friday" has no time of day; add a time, e.g. "friday at 9am"'],
  ['next friday', '"next friday" has no time of day; add a time, e.g. "next friday at 9am"'],
  ['every monday', '"every monday" has no time of day; add a time, e.g. "every monday at 9am"'],
  ['tomorrow', '"tomorrow" has no time of day; add a time, e.g. "tomorrow at 9am"'],
  ['every weekday', '"every weekday" has no time of day; add a time, e.g. "every weekday at 9am"'],
  ['every day', '"every day" has no time of day; add a time, e.g. "every day at 9am"'],
  ['3/4', '"3/4" is an ambiguous date; use ISO dates, e.g. 2027-03-04'],
  ['3/4 at 9am', '"3/4" is an ambiguous date; use ISO dates, e.g. 2027-03-04'],
  ['12/25/2027 9am', '"12/25/2027" is an ambiguous date; use ISO dates, e.g. 2027-03-04'],
  ['weekly', '"weekly" schedules are not supported in plain English', { hint: /--cron '0 9 \* \* 1'/ }],
  ['monthly at 9am', '"monthly" schedules are not supported in plain English', { hint: /--cron/ }],
  ['every 2 weeks', '"every 2 weeks" schedules are not supported in plain English', { hint: /--cron/ }],
  ['every week', '"every week" schedules are not supported in plain English', { hint: /--cron/ }],
  ['today at 8am', '"today at 8am" is in the past (2027-03-03T08:00:00+01:00; now is 2027-03-03T08:15:00+01:00)'],
  ['tonight at 1am', '"tonight at 1am" is in the past (2027-03-03T01:00:00+01:00; now is 2027-03-03T08:15:00+01:00)'],
  ['2027-03-01T10:00', '"2027-03-01T10:00" is in the past (2027-03-01T10:00:00+01:00; now is 2027-03-03T08:15:00+01:00)'],
  ['2027-03-03T08:15:00+01:00', '"2027-03-03T08:15:00+01:00" is in the past (2027-03-03T08:15:00+01:00; now is 2027-03-03T08:15:00+01:00)'],
  ['2027-02-30T10:00', '"2027-02-30T10:00" is not a valid date'],
  ['2027-03-04', '"2027-03-04" has no time of day; add one, e.g. "2027-03-04T09:00"'],
  ['tomorrow 25:00', '"25:00" is not a valid time of day'],
  ['13pm', '"13pm" is not a valid time of day'],
  ['5', '"5" is ambiguous as a time; write 5am, 5pm or 05:00'],
  ['tonight at 11', '"11" is ambiguous as a time; write 11am, 11pm or 11:00'],
  ['every 0 minutes', '"every 0 minutes" is not an interval; use N ≥ 1, e.g. "every 2 hours"'],
  ['in 0 minutes', '"in 0 minutes" is not in the future'],
  ['every 2 days at 9am', '"every 2 days at 9am" cannot be expressed as a fixed interval with a time of day', { hint: /--cron/ }],
  ['every day at 21:30:15', 'recurring times fire on whole minutes; drop the seconds from "21:30:15"'],
  ['in 999999999999 days', '"in 999999999999 days" is too far ahead; schedules reach at most 100 years'],
  ['every 400 days', '"every 400 days" is longer than a year; use --cron for long cycles'],
];

test('refusals carry exact messages', () => {
  const opts = { now: Date.parse('2027-03-03T08:15:00+01:00'), timeZone: 'Europe/Berlin' };
  for (const [phrase, message, extra] of REFUSED) {
    const r = parseSchedule(phrase, opts);
    if (r.ok) assert.fail(`"${phrase}" should be refused, got ${r.schedule.expression}`);
    assert.equal(r.message, message, phrase);
    if (extra?.understood !== undefined) assert.equal(r.understood, extra.understood, phrase);
    if (extra?.left !== undefined) assert.equal(r.left, extra.left, phrase);
    if (extra?.hint !== undefined) assert.match(r.hint ?? '', extra.hint, phrase);
  }
});

test('an unknown or offset-only zone is refused', () => {
  const now = Date.parse('2027-03-03T08:15:00Z');
  for (const timeZone of ['Mars/Olympus', '+01:00', 'Europe/', '']) {
    const r = parseSchedule('in 2 hours', { now, timeZone });
    assert.equal(r.ok, false, timeZone);
    if (!r.ok) assert.match(r.message, /unknown time zone/);
  }
  const lower = ok(parseSchedule('in 2 hours', { now, timeZone: 'europe/berlin' }));
  assert.equal(lower.timeZone, 'Europe/Berlin');
  assert.equal(ok(parseSchedule('in 2 hours', { now, timeZone: 'asia/kolkata' })).timeZone, 'Asia/Kolkata');
});

test('any input gives a schedule in the future or a message, never an exception', () => {
  const now = Date.parse('2027-03-03T08:15:00+01:00');
  const words = ['in', 'every', 'at', 'next', 'tomorrow', 'today', 'tonight', 'day', 'daily', 'weekday', 'weekend', 'monday', 'fri', ',', 'and', '2', '30', '0', '99999', 'hours', 'm', 'h', 'seconds', '9am', '12pm', '21:30', '25:61', 'noon', 'midnight', '2027-03-04T06:30', '3/4', 'weekly', '-ish', '@'];
  const phrase = fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 6 }).map((w) => w.join(' ')));
  fc.assert(
    fc.property(phrase, fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata'), (input, timeZone) => {
      const r = parseSchedule(input, { now, timeZone });
      if (!r.ok) return typeof r.message === 'string' && r.message.length > 0;
      const next = nextFireTimes(r.schedule, now, 3);
      return next.length >= 1 && next.every((t, i) => t > now && (i === 0 || t > (next[i - 1] as number)));
    }),
    { numRuns: 2000, seed: 42 },
  );
});
