import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatRemaining, parseDuration, tryParseDuration } from './duration.ts';
import { KmError } from './errors.ts';

test('canonical durations parse to seconds', () => {
  const cases: Array<[string, number]> = [
    ['45m', 2_700],
    ['1d12h', 129_600],
    ['2h30m', 9_000],
    ['8h', 28_800],
    ['90s', 90],
    ['1d1h1m1s', 90_061],
  ];
  for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text);
});

test('zero only where allowed', () => {
  assert.deepEqual(tryParseDuration('0', { allowZero: true }), { ok: true, seconds: 0 });
  assert.equal(tryParseDuration('0').ok, false);
  assert.equal(tryParseDuration('0m').ok, false);
});

test('invalid forms are rejected with the documented message', () => {
  for (const bad of ['90x', '', 'h', '1h1d', '1h1h', '1.5h', '-1h', '1 h', 'abc', '10m5']) {
    const r = tryParseDuration(bad);
    assert.equal(r.ok, false, bad);
  }
  assert.throws(() => parseDuration('90x'), (e: unknown) => e instanceof KmError && e.code === 'usage' && e.message === 'invalid duration "90x": use forms like 45m, 2h30m, 1d');
});

test('spelled units are accepted for flags only', () => {
  assert.equal(parseDuration('2 hours', { spelled: true }), 7_200);
  assert.equal(parseDuration('90mins', { spelled: true }), 5_400);
  assert.equal(parseDuration('1 day 2 hrs', { spelled: true }), 93_600);
  assert.equal(parseDuration('30 seconds', { spelled: true }), 30);
  assert.equal(tryParseDuration('2 hours').ok, false);
  assert.equal(tryParseDuration('2 fortnights', { spelled: true }).ok, false);
});

test('formatting', () => {
  assert.equal(formatDuration(129_600), '1d12h');
  assert.equal(formatDuration(0), '0');
  assert.equal(formatRemaining(100_800), '1d04h');
  assert.equal(formatRemaining(7_500), '2h05m');
  assert.equal(formatRemaining(190), '3m10s');
  assert.equal(formatRemaining(45), '45s');
});
