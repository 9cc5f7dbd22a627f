import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { trustedCacheDir } from './compile-cache.ts';

const uid = process.geteuid?.() ?? 0;

function dist(mode: number): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), 'km-cc-'));
  const d = join(root, 'dist');
  mkdirSync(d);
  chmodSync(d, mode);
  return { root, dist: d };
}

test('a private dist gets a 0700 cache directory', (t) => {
  const { root, dist: d } = dist(0o755);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = trustedCacheDir(d, uid);
  assert.equal(dir, join(d, '.cache'));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

test('a group- or world-writable dist gets no cache (someone else could plant compiled code)', (t) => {
  for (const mode of [0o775, 0o757, 0o777]) {
    const { root, dist: d } = dist(mode);
    t.after(() => rmSync(root, { recursive: true, force: true }));
    assert.equal(trustedCacheDir(d, uid), null, `mode ${mode.toString(8)}`);
    assert.equal(existsSync(join(d, '.cache')), false);
  }
});

test('a cache directory that others can write is refused', (t) => {
  const { root, dist: d } = dist(0o755);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(d, '.cache'));
  chmodSync(join(d, '.cache'), 0o777);
  assert.equal(trustedCacheDir(d, uid), null);
});

test('a dist owned by another user is refused', (t) => {
  const { root, dist: d } = dist(0o755);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(trustedCacheDir(d, uid + 1), null);
  assert.equal(trustedCacheDir(join(root, 'missing'), uid), null);
});
