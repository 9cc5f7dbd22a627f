import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCronOption, toEventBridgeExpression, type ParseResult } from './index.ts';

/**
 * EventBridge Scheduler's documented expression rules, as cases:
 * - cron(minutes hours day-of-month month day-of-week year): six fields, `?` in exactly one of
 *   day-of-month / day-of-week, day-of-week 1-7 or SUN-SAT with 1 = Sunday, `/` increments
 *   written from a start value (`0/15`).
 * - rate(value unit): unit minute(s) | hour(s) | day(s), singular for 1, plural otherwise.
 * - at(yyyy-mm-ddThh:mm:ss): wall time in ScheduleExpressionTimezone.
 * Documented examples are marked (doc).
 */
const BERLIN = { now: Date.parse('2027-03-03T08:15:00+01:00'), timeZone: 'Europe/Berlin' };

function ok(r: ParseResult) {
  if (!r.ok) assert.fail(`expected a schedule, got: ${r.message}`);
  return r.schedule;
}

const CRON5_TO_AWS: ReadonlyArray<[string, string, string]> = [
  ['0 23 * * 1-5', '0 23 * * 1-5', 'cron(0 23 ? * MON-FRI *)'],
  ['0 10 * * *', '0 10 * * *', 'cron(0 10 * * ? *)'], // (doc) 10:00 every day
  ['15 12 * * *', '15 12 * * *', 'cron(15 12 * * ? *)'], // (doc) 12:15 every day
  ['0 18 * * mon-fri', '0 18 * * 1-5', 'cron(0 18 ? * MON-FRI *)'], // (doc) 18:00 Monday-Friday
  ['0 8 1 * *', '0 8 1 * *', 'cron(0 8 1 * ? *)'], // (doc) 08:00 on the first of the month
  ['*/15 * * * *', '*/15 * * * *', 'cron(0/15 * * * ? *)'], // (doc) every 15 minutes
  ['*/10 * * * 1-5', '*/10 * * * 1-5', 'cron(0/10 * ? * MON-FRI *)'], // (doc) every 10 minutes Monday-Friday
  ['*/5 8-17 * * MON-FRI', '*/5 8-17 * * 1-5', 'cron(0/5 8-17 ? * MON-FRI *)'], // (doc) every 5 minutes 8-17h Monday-Friday
  ['5/15 * * * *', '5-59/15 * * * *', 'cron(5/15 * * * ? *)'],
  ['0 9 * * 0,6', '0 9 * * 0,6', 'cron(0 9 ? * SUN,SAT *)'],
  ['0 0 * * 7', '0 0 * * 0', 'cron(0 0 ? * SUN *)'],
  ['0 0 * * 0-7', '0 0 * * *', 'cron(0 0 * * ? *)'],
  ['0 0 * * sun', '0 0 * * 0', 'cron(0 0 ? * SUN *)'],
  ['30 6 * jan-mar 1', '30 6 * 1-3 1', 'cron(30 6 ? 1-3 MON *)'],
  ['0 */2 * * *', '0 */2 * * *', 'cron(0 0/2 * * ? *)'],
  ['0,30 9 * * *', '*/30 9 * * *', 'cron(0/30 9 * * ? *)'],
  ['0 9 1,15 * ?', '0 9 1,15 * *', 'cron(0 9 1,15 * ? *)'],
  ['0 12 * * 1,2,3,5', '0 12 * * 1-3,5', 'cron(0 12 ? * MON-WED,FRI *)'],
];

test('5-field cron is normalised and mapped to EventBridge cron()', () => {
  for (const [input, expression, aws] of CRON5_TO_AWS) {
    const s = ok(parseCronOption(input, BERLIN));
    assert.equal(s.kind, 'recurring', input);
    assert.equal(s.input, input);
    assert.equal(s.expression, expression, input);
    assert.equal(s.awsExpression, aws, input);
    assert.equal(toEventBridgeExpression(s), aws, input);
  }
});

const AWS_CRON: ReadonlyArray<[string, string, string]> = [
  ['cron(0 23 ? * MON-FRI *)', '0 23 * * 1-5', 'cron(0 23 ? * MON-FRI *)'],
  ['cron(0 23 ? * 2-6 *)', '0 23 * * 1-5', 'cron(0 23 ? * MON-FRI *)'], // 1 = Sunday, so 2-6 = MON-FRI
  ['cron(0 12 ? * 1 *)', '0 12 * * 0', 'cron(0 12 ? * SUN *)'],
  ['cron(0 12 ? * 7 *)', '0 12 * * 6', 'cron(0 12 ? * SAT *)'],
  ['cron(0 10 * * ? *)', '0 10 * * *', 'cron(0 10 * * ? *)'],
  ['cron(0 9 ? * * *)', '0 9 * * *', 'cron(0 9 * * ? *)'],
  ['cron(0/15 * * * ? *)', '*/15 * * * *', 'cron(0/15 * * * ? *)'],
  ['cron(0 8 1 * ? *)', '0 8 1 * *', 'cron(0 8 1 * ? *)'],
  ['cron(0/5 8-17 ? * MON-FRI *)', '*/5 8-17 * * 1-5', 'cron(0/5 8-17 ? * MON-FRI *)'],
  ['cron(15 10 ? * 6 *)', '15 10 * * 5', 'cron(15 10 ? * FRI *)'],
];

test('EventBridge cron() input: DOW 1 = Sunday, normalised both ways', () => {
  for (const [input, expression, aws] of AWS_CRON) {
    const s = ok(parseCronOption(input, BERLIN));
    assert.equal(s.expression, expression, input);
    assert.equal(s.awsExpression, aws, input);
  }
});

test('rate(): singular for 1, plural otherwise, anchored at creation', () => {
  const cases: Array<[string, string]> = [
    ['rate(1 minute)', 'rate(1 minute)'],
    ['rate(5 minutes)', 'rate(5 minutes)'],
    ['rate(1 hour)', 'rate(1 hour)'],
    ['rate(12 hours)', 'rate(12 hours)'],
    ['rate(1 day)', 'rate(1 day)'],
    ['rate(7 days)', 'rate(7 days)'],
    ['rate(60 minutes)', 'rate(1 hour)'],
  ];
  for (const [input, out] of cases) {
    const s = ok(parseCronOption(input, BERLIN));
    assert.equal(s.kind, 'recurring');
    assert.equal(s.expression, out, input);
    assert.equal(s.awsExpression, out, input);
    assert.equal(s.anchorMs, BERLIN.now);
  }
});

test('at(): wall time in the zone; the AWS form keeps the wall time', () => {
  const s = ok(parseCronOption('at(2027-03-04T06:30:00)', BERLIN));
  assert.equal(s.kind, 'once');
  assert.equal(s.expression, '2027-03-04T06:30:00+01:00');
  assert.equal(s.awsExpression, 'at(2027-03-04T06:30:00)');
  // The same instant in another zone is another wall time.
  assert.equal(toEventBridgeExpression({ expression: s.expression, timeZone: 'America/New_York' }), 'at(2027-03-04T00:30:00)');
  assert.equal(toEventBridgeExpression({ expression: s.expression, timeZone: 'Asia/Kolkata' }), 'at(2027-03-04T11:00:00)');
});

test('intervals that are not whole minutes have no EventBridge expression', () => {
  assert.equal(toEventBridgeExpression({ expression: 'rate(10 seconds)', timeZone: 'UTC' }), null);
  assert.equal(toEventBridgeExpression({ expression: 'rate(2 minutes)', timeZone: 'UTC' }), 'rate(2 minutes)');
});

const INVALID: ReadonlyArray<[string, RegExp]> = [
  ['cron(0 9 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
  ['cron(0 9 ? * ? *)', /exactly one of day-of-month and day-of-week must be "\?"/],
  ['cron(0 9 1 * MON *)', /exactly one of day-of-month and day-of-week must be "\?"/],
  ['cron(0 9 ? * MON)', /has 5 fields; EventBridge cron has 6/],
  ['cron(0 9 ? * MON 2027)', /only "\*" is supported in the year field/],
  ['cron(0 9 ? * 8 *)', /day-of-week 8 is out of range 1-7/],
  ['cron(0 9 ? * 0 *)', /day-of-week 0 is out of range 1-7/],
  ['cron(0 9 L * ? *)', /L, W and # are not supported/],
  ['cron(0 9 ? * 2#1 *)', /L, W and # are not supported/],
  ['cron(0 9 ? * MON *', /missing its closing parenthesis/],
  ['cron(0 ? ? * MON *)', /"\?" is only allowed in day-of-month or day-of-week/],
  ['rate(1 minutes)', /with 1 use the singular, rate\(1 minute\)/],
  ['rate(5 minute)', /with 5 use the plural, rate\(5 minutes\)/],
  ['rate(0 minutes)', /at least 1/],
  ['rate(10 seconds)', /unit must be minute\(s\), hour\(s\) or day\(s\)/],
  ['rate(2 weeks)', /unit must be minute\(s\), hour\(s\) or day\(s\)/],
  ['rate(five minutes)', /not a rate expression/],
  ['at(2027-03-04 06:30)', /use at\(YYYY-MM-DDTHH:MM:SS\)/],
  ['at(2027-02-30T06:30:00)', /not a valid date and time/],
  ['at(2027-03-01T06:30:00)', /is in the past \(2027-03-01T06:30:00\+01:00; now is 2027-03-03T08:15:00\+01:00\)/],
  ['61 * * * *', /minute 61 is out of range 0-59/],
  ['0 24 * * *', /hour 24 is out of range 0-23/],
  ['0 9 0 * *', /day-of-month 0 is out of range 1-31/],
  ['0 9 * 13 *', /month 13 is out of range 1-12/],
  ['0 9 * * 8', /day-of-week 8 is out of range 0-7/],
  ['* * * *', /has 4 fields; expected 5/],
  ['0 9 * * mon 2027', /has 6 fields; expected 5.*write cron\(/],
  ['0 9 1 * 1', /both day-of-month and day-of-week are restricted/],
  ['0 9 * * fri-mon', /runs backwards/],
  ['0 9 * * mon#2', /L, W and # are not supported/],
  ['*/0 * * * *', /step "0" must be a positive number/],
  ['0 9 * * funday', /day-of-week "funday" is not a number or name/],
  ['1-2-3 * * * *', /minute "1-2-3" is not valid/],
];

test('invalid expressions are refused with the reason', () => {
  for (const [input, re] of INVALID) {
    const r = parseCronOption(input, BERLIN);
    if (r.ok) assert.fail(`${input} should be refused, got ${r.schedule.expression}`);
    assert.match(r.message, re, input);
  }
});

test('every accepted 5-field cron is stable when normalised and round-trips through its EventBridge form', () => {
  const item = (lo: number, hi: number) =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min: lo, max: hi }).map(String),
      fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 1, max: hi - lo + 1 }).map((n) => `*/${n}`),
      fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 1, max: 20 })).map(([a, n]) => `${a}/${n}`),
    );
  const field = (lo: number, hi: number) => fc.array(item(lo, hi), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
  const expr = fc.tuple(field(0, 59), field(0, 23), fc.oneof(fc.constant('*'), field(1, 31)), field(1, 12), fc.oneof(fc.constant('*'), field(0, 7))).map((f) => f.join(' '));
  fc.assert(
    fc.property(expr, (e) => {
      const r = parseCronOption(e, BERLIN);
      if (!r.ok) return /both day-of-month and day-of-week are restricted/.test(r.message);
      const aws = r.schedule.awsExpression as string;
      const fields = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) \*\)$/.exec(aws);
      if (!fields || (fields[3] === '?') === (fields[5] === '?')) return false;
      if (fields[5] !== '?' && !/^[A-Z,-]+$/.test(fields[5] as string)) return false;
      const back = parseCronOption(aws, BERLIN);
      const again = parseCronOption(r.schedule.expression, BERLIN);
      if (!again.ok || again.schedule.expression !== r.schedule.expression) return false;
      return back.ok && back.schedule.expression === r.schedule.expression && back.schedule.awsExpression === aws;
    }),
    { numRuns: 1500, seed: 7 },
  );
});
