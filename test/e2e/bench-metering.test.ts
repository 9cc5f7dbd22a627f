/**
 * The metering bench's `--breakdown` rows, from a short real run: the meter's parts are timed
 * inside the metered gateway, the store calls per stream are the ledger's (one budget read at
 * the request, one commit as usage first appears, one at the end), and the budget row is 5 %
 * of the plain relay's CPU per stream.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('bench/metering.ts --breakdown times the usage tap and the store calls inside the gateway', { timeout: 120_000 }, () => {
  const r = spawnSync('scripts/node', ['bench/metering.ts', '--n', '32', '--warm', '2', '--kb', '256', '--breakdown'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, r.stderr);
  const row = (re: RegExp): RegExpMatchArray => {
    const m = re.exec(r.stdout);
    assert.ok(m, `no row matching ${re} in:\n${r.stdout}`);
    return m;
  };
  const plainCpu = Number(row(/^gateway CPU per stream \(ms\)\s+([\d.]+)\s+([\d.]+)/m)[2]);
  const tap = row(/^ {2}in the gateway: usage tap \((\d+) chunks\)\s+([\d.]+)/m);
  const store = row(/^ {2}in the gateway: store calls \(([\d.]+)\)\s+([\d.]+)/m);
  const budget = Number(row(/^ {2}the 5% target leaves\s+([\d.]+)/m)[1]);
  // A 256 KiB stream arrives in several chunks, each through the tap.
  assert.ok(Number(tap[1]) >= 2, `chunks per stream: ${tap[1]}`);
  assert.ok(Number(tap[2]) > 0, 'the tap took time');
  assert.equal(store[1], '3.0', 'one budget read and two commits per stream');
  assert.ok(Number(store[2]) > 0, 'the store calls took time');
  assert.ok(Math.abs(budget - plainCpu * 0.05) < 0.001 + plainCpu * 0.0005, `budget ${budget} against plain ${plainCpu}`);
  assert.match(r.stdout, /ledger rows written by the metered gateway: 34 \(expected 34\)/);
});

test('without --breakdown the bench prints no breakdown rows (its ratio is not skewed by the timing)', { timeout: 120_000 }, () => {
  const r = spawnSync('scripts/node', ['bench/metering.ts', '--n', '16', '--warm', '1', '--kb', '64'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^gateway CPU per stream/m);
  assert.doesNotMatch(r.stdout, /in the gateway:/);
});
