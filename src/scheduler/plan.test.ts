import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planFires, type ScheduleTiming } from './plan.ts';

const MIN = 60_000;
const T0 = Date.parse('2027-03-03T08:00:00Z');
const every10: ScheduleTiming = { kind: 'recurring', expression: 'rate(10 minutes)', timeZone: 'UTC', anchorMs: T0 };
const once: ScheduleTiming = { kind: 'once', expression: '2027-03-03T08:10:00Z', timeZone: 'UTC' };

test('nothing due yet: keep the pending fire', () => {
  assert.deepEqual(planFires(every10, T0 + 10 * MIN, T0 + 9 * MIN, 15 * MIN), { run: null, skipped: [], folded: null, next: T0 + 10 * MIN, finish: null });
});

test('the grace boundary is inclusive; beyond it nothing runs', () => {
  const at = planFires(once, T0 + 10 * MIN, T0 + 25 * MIN, 15 * MIN);
  assert.deepEqual([at.run, at.finish, at.skipped], [T0 + 10 * MIN, 'completed', []]);
  const past = planFires(once, T0 + 10 * MIN, T0 + 25 * MIN + 1, 15 * MIN);
  assert.deepEqual([past.run, past.finish, past.skipped], [null, 'missed', [T0 + 10 * MIN]]);
});

test('recurring: the latest due fire runs, older ones are skipped, next is after now', () => {
  const p = planFires(every10, T0 + 10 * MIN, T0 + 35 * MIN, 15 * MIN);
  assert.deepEqual(p, { run: T0 + 30 * MIN, skipped: [T0 + 10 * MIN, T0 + 20 * MIN], folded: null, next: T0 + 40 * MIN, finish: null });
  const z = planFires(every10, T0 + 10 * MIN, T0 + 35 * MIN, 0);
  assert.deepEqual([z.run, z.skipped.length, z.next], [null, 3, T0 + 40 * MIN]);
});
