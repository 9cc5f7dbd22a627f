import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from '../schedule-grammar/index.ts';
import type { ScheduleJson } from '../scheduler/index.ts';
import { dryRunJson, humanTime, localTime, renderDryRun, renderHistory, renderScheduleList, scheduledLine, shellWords } from './at-render.ts';

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

const saved = (over: Partial<ScheduleJson> = {}): ScheduleJson => ({
  name: 'km-at-stop-demo-every-weekday-at-7-45pm',
  command: ['stop', 'demo'],
  target: 'demo',
  input: 'every weekday at 7:45pm',
  kind: 'recurring',
  expression: '45 19 * * 1-5',
  aws_expression: 'cron(45 19 ? * MON-FRI *)',
  timezone: 'Europe/Berlin',
  status: 'active',
  created_at: '2027-03-03T07:15:00Z',
  next_fire_at: '2027-03-03T18:45:00Z',
  next_fire_times: ['2027-03-03T18:45:00Z', '2027-03-04T18:45:00Z', '2027-03-05T18:45:00Z'],
  last_fire_at: null,
  last_outcome: null,
  running: false,
  ...over,
});

test('the saved line of SPEC §11.4, in the schedule zone', () => {
  assert.equal(
    scheduledLine(saved()),
    'Scheduled km-at-stop-demo-every-weekday-at-7-45pm — stop demo, every weekday at 7:45pm (Europe/Berlin); next 2027-03-03 19:45',
  );
  assert.equal(localTime('2027-03-03T18:45:07Z', 'Europe/Berlin'), '2027-03-03 19:45:07');
  const prompt = saved({ command: ['agent', 'run', 'demo', '--prompt', 'fix the tests'], input: 'in 2 hours', timezone: 'UTC', next_fire_at: '2027-03-03T09:15:00Z' });
  assert.match(scheduledLine(prompt), / — agent run demo --prompt 'fix the tests', in 2 hours \(UTC\); next 2027-03-03 09:15$/);
});

test('list and history tables; empty forms', () => {
  assert.equal(renderScheduleList([], 'UTC'), 'No schedules.\n');
  const rows = renderScheduleList(
    [saved(), saved({ name: 'nightly', command: ['agent', 'run', 'sb-0123abcd'], target: 'sb-0123abcd', input: 'in 2 hours', kind: 'once', status: 'completed', next_fire_at: null, last_fire_at: '2027-03-03T09:00:00Z', last_outcome: 'failed' })],
    'Europe/Berlin',
  );
  assert.equal(
    rows,
    [
      'NAME                                     COMMAND    TARGET       WHEN                     NEXT              LAST                     STATUS',
      'km-at-stop-demo-every-weekday-at-7-45pm  stop       demo         every weekday at 7:45pm  2027-03-03 19:45  -                        active',
      'nightly                                  agent run  sb-0123abcd  in 2 hours               -                 2027-03-03 10:00 failed  completed',
      '',
    ].join('\n'),
  );
  assert.equal(renderHistory('x', [], 'UTC'), 'No fires yet for x.\n');
  const fires = [
    { name: 'x', fire_at: '2027-03-03T18:45:00Z', executed_at: '2027-03-03T18:45:00Z', delay_s: 0, outcome: 'ok' as const, detail: 'Stopped demo\nidle timeout is now 45m\n' },
    { name: 'x', fire_at: '2027-03-04T18:45:00Z', executed_at: '2027-03-04T18:50:00Z', delay_s: 300, outcome: 'failed' as const, detail: 'no sandbox matches "demo"' },
  ];
  assert.equal(
    renderHistory('x', fires, 'Europe/Berlin'),
    'FIRE              DELAY  OUTCOME  DETAIL\n2027-03-03 19:45  0s     ok       Stopped demo; idle timeout is now 45m\n2027-03-04 19:45  5m00s  failed   no sandbox matches "demo"\n',
  );
});
