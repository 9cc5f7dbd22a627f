import { test } from 'node:test';
import assert from 'node:assert/strict';
import { customScheduleName, MAX_NAME_LENGTH, sanitizeName, scheduleName } from './index.ts';

test('SPEC §11.4 example and the shape of generated names', () => {
  assert.equal(scheduleName('stop', 'demo', 'every weekday at 7:45pm', new Set()), 'km-at-stop-demo-every-weekday-at-7-45pm');
  assert.equal(scheduleName('destroy', 'nightly', 'every weekday at 11pm', new Set()), 'km-at-destroy-nightly-every-weekday-at-11pm');
  assert.equal(scheduleName('agent-run', 'sb-5e0c9a12', '6am tomorrow', new Set()), 'km-at-agent-run-sb-5e0c9a12-6am-tomorrow');
  assert.equal(scheduleName('stop', 'demo', 'cron(0 23 ? * MON-FRI *)', new Set()), 'km-at-stop-demo-cron-0-23-mon-fri');
  assert.equal(scheduleName('stop', 'demo', '2027-03-04T06:30:00+01:00', new Set()), 'km-at-stop-demo-2027-03-04t06-30-00-01-00');
  assert.equal(scheduleName('create', 'Nightly', 'Every Day At 9AM!!', new Set()), 'km-at-create-nightly-every-day-at-9am');
});

test('names are unique: -2, -3… appended', () => {
  const base = 'km-at-stop-demo-in-2-hours';
  assert.equal(scheduleName('stop', 'demo', 'in 2 hours', new Set([base])), `${base}-2`);
  assert.equal(scheduleName('stop', 'demo', 'in 2 hours', new Set([base, `${base}-2`])), `${base}-3`);
});

test('names are cut to 64 characters, also with a uniqueness suffix, and never end in -', () => {
  const long = 'every monday, tuesday, wednesday, thursday and friday at 11:45pm';
  const name = scheduleName('agent-run', 'a-rather-long-alias', long, new Set());
  assert.equal(name.length <= MAX_NAME_LENGTH, true);
  assert.equal(name, 'km-at-agent-run-a-rather-long-alias-every-monday-tuesday-wednesd');
  const second = scheduleName('agent-run', 'a-rather-long-alias', long, new Set([name]));
  assert.equal(second, 'km-at-agent-run-a-rather-long-alias-every-monday-tuesday-wedne-2');
  assert.equal(second.length, MAX_NAME_LENGTH);
  // The cut lands on a '-': trimmed.
  const cut = sanitizeName(`${'a'.repeat(63)}-b`);
  assert.equal(cut, 'a'.repeat(63));
  for (const n of [name, second, cut]) assert.match(n, /^[a-z0-9._-]{1,64}$/);
});

test('--name follows the same rules', () => {
  assert.equal(customScheduleName('My Nightly Tests', new Set()), 'my-nightly-tests');
  assert.equal(customScheduleName('my-nightly-tests', new Set(['my-nightly-tests'])), 'my-nightly-tests-2');
  assert.equal(customScheduleName('--weird__name..', new Set()), 'weird__name');
  assert.equal(customScheduleName('!!!', new Set()), undefined);
  assert.equal(customScheduleName('x'.repeat(100), new Set())?.length, 64);
});
