import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from '../schedule-grammar/index.ts';
import { dryRunJson, humanTime, renderDryRun, shellWords } from './at-render.ts';

test('dry-run JSON and human rendering of the SPEC §11.2 example', () => {
  const now = Date.parse('2027-03-03T08:15:00+01:00');
  const r = parseSchedule('every weekday at 7:45pm', { now, timeZone: 'Europe/Berlin' });
  if (!r.ok) assert.fail(r.message);
  const report = dryRunJson(r.schedule, now, ['stop', 'demo'], 'km-at-stop-demo-every-weekday-at-7-45pm');
  assert.deepEqual(report, {
    input: 'every weekday at 7:45pm',
    kind: 'recurring',
    expression: '45 19 * * 1-5',
    aws_expression: 'cron(45 19 ? * MON-FRI *)',
    timezone: 'Europe/Berlin',
    next_fire_times: ['2027-03-03T19:45:00+01:00', '2027-03-04T19:45:00+01:00', '2027-03-05T19:45:00+01:00'],
    command: ['stop', 'demo'],
    name: 'km-at-stop-demo-every-weekday-at-7-45pm',
  });
  assert.equal(
    renderDryRun(report),
    [
      'name        km-at-stop-demo-every-weekday-at-7-45pm',
      'command     stop demo',
      'when        every weekday at 7:45pm (recurring)',
      'expression  45 19 * * 1-5',
      'aws         cron(45 19 ? * MON-FRI *)',
      'time zone   Europe/Berlin',
      'next        Wed 2027-03-03 19:45 +01:00',
      '            Thu 2027-03-04 19:45 +01:00',
      '            Fri 2027-03-05 19:45 +01:00',
      '',
    ].join('\n'),
  );
});

test('seconds intervals say why there is no AWS expression', () => {
  const now = Date.parse('2027-03-03T08:15:00Z');
  const r = parseSchedule('every 10 seconds', { now, timeZone: 'UTC' });
  if (!r.ok) assert.fail(r.message);
  const text = renderDryRun(dryRunJson(r.schedule, now, ['stop', 'demo'], 'n'));
  assert.match(text, /^aws {9}none: EventBridge runs intervals of whole minutes only/m);
  assert.match(text, /^next {8}Wed 2027-03-03 08:15:10 \+00:00$/m);
});

test('shell words and times', () => {
  assert.equal(shellWords(['agent', 'run', 'demo', '--prompt', "it's fine", '--x=1']), `agent run demo --prompt 'it'\\''s fine' --x=1`);
  assert.equal(shellWords(['stop', '#3']), 'stop #3');
  assert.equal(humanTime('2027-03-07T21:30:00+05:30'), 'Sun 2027-03-07 21:30 +05:30');
  assert.equal(humanTime('2027-03-07T21:30:05-04:00'), 'Sun 2027-03-07 21:30:05 -04:00');
});
