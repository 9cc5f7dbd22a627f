import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmError } from '../core/errors.ts';
import { splitAtLine } from './at-args.ts';

const usage = (re: RegExp) => (e: unknown) => e instanceof KmError && e.code === 'usage' && e.exitCode === 2 && re.test(e.message);

test("km at's own flags are recognised anywhere; the rest belongs to the scheduled command", () => {
  const line = splitAtLine(['--tz', 'Europe/Berlin', 'every day at 9am', 'agent', 'run', 'demo', '--dry-run', '--prompt', 'hi', '--now=2027-03-03T08:15:00Z', '--json', '--auto-start']);
  assert.deepEqual(line, {
    dryRun: true,
    tz: 'Europe/Berlin',
    now: '2027-03-03T08:15:00Z',
    phrase: 'every day at 9am',
    command: ['agent', 'run', 'demo', '--prompt', 'hi', '--auto-start'],
  });
});

test('--cron takes the place of the phrase, wherever it is', () => {
  assert.deepEqual(splitAtLine(['stop', 'demo', '--cron', '0 9 * * 1-5', '--name', 'x']), {
    dryRun: false,
    cron: '0 9 * * 1-5',
    name: 'x',
    command: ['stop', 'demo'],
  });
});

test('after --, everything is the agent’s', () => {
  const line = splitAtLine(['in 2h', 'agent', 'run', 'demo', '--prompt', 'p', '--', '--tz', 'x', '--dry-run']);
  assert.equal(line.dryRun, false);
  assert.equal(line.tz, undefined);
  assert.deepEqual(line.command, ['agent', 'run', 'demo', '--prompt', 'p', '--', '--tz', 'x', '--dry-run']);
});

test('line errors', () => {
  assert.throws(() => splitAtLine([]), usage(/km at needs a time/));
  assert.throws(() => splitAtLine(['in 2h']), usage(/nothing to schedule/));
  assert.throws(() => splitAtLine(['--cron', '0 9 * * *']), usage(/nothing to schedule/));
  assert.throws(() => splitAtLine(['in 2h', 'stop', 'demo', '--tz']), usage(/--tz needs a value/));
  assert.throws(() => splitAtLine(['in 2h', 'stop', 'demo', '--tz', 'UTC', '--tz=UTC']), usage(/--tz was given more than once/));
  assert.throws(() => splitAtLine(['--ai', '5', 'in 2h', 'budget-add', 'demo']), usage(/unknown flag --ai for km at/));
  assert.throws(() => splitAtLine(['in 2h', '--ai=5', 'budget-add', 'demo']), usage(/unknown flag --ai for km at/));
  assert.throws(() => splitAtLine(['in 2h', 'stop', 'demo', '--dry-run=yes']), usage(/--dry-run takes no value/));
});
