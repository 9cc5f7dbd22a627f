/**
 * The gateway bench's floor row, from a short real run: bench/connect-floor.c is built and
 * driven like the other CONNECT rows (its TLS connections work through it, so its time is a
 * real p50 above direct), and the run leaves neither its process nor its build directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasCc = spawnSync('cc', ['--version']).status === 0;
const floorDirs = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('km-bench-floor-'));

test('bench/gateway-http.ts measures the minimal C CONNECT proxy beside the gateway', { timeout: 180_000, skip: hasCc ? false : 'no C compiler' }, () => {
  const before = floorDirs();
  const r = spawnSync('scripts/node', ['bench/gateway-http.ts', '--n', '20', '--mb', '4'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  assert.equal(r.status, 0, r.stderr);
  const num = (re: RegExp): number[] => {
    const m = re.exec(r.stdout);
    assert.ok(m, `no row matching ${re} in:\n${r.stdout}`);
    return m.slice(1).map(Number);
  };
  const [direct, floor, added] = num(/^ {2}floor: minimal C CONNECT proxy\s+([\d.]+) ms\s+([\d.]+) ms\s+\+([\d.]+) ms\s+gateway − floor: [+-][\d.]+ ms/m) as [number, number, number];
  const [gwDirect] = num(/^new TLS connection \+ request, p50\s+([\d.]+) ms/m) as [number];
  assert.equal(direct, gwDirect, 'the same direct baseline as the gateway row');
  assert.ok(floor > direct, `a proxied connection costs more than a direct one (${floor} vs ${direct})`);
  assert.ok(Math.abs(floor - direct - added) < 0.002, 'added = via − direct');
  const result = /^BENCH-RESULT (\{"target":"CONNECT added latency.*)$/m.exec(r.stdout);
  assert.ok(result, r.stdout);
  assert.match(JSON.parse(result[1]!).baseline as string, /minimal C CONNECT proxy \+[\d.]+ ms/);
  assert.deepEqual(floorDirs().filter((d) => !before.includes(d)), [], 'the build directory is removed');
  assert.equal(spawnSync('pgrep', ['-f', 'km-bench-floor-.*/connect-floor']).status, 1, 'the floor proxy has ended');
});
