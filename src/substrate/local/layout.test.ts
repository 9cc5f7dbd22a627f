import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSkeleton, scanBase, statePaths } from './layout.ts';

test('base scan: directories become overlays, symlinks are copied, km-owned names and files skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'km-layout-'));
  try {
    const base = join(dir, 'base');
    for (const d of ['usr', 'etc', 'home', 'root', 'tmp', 'proc', 'opt']) mkdirSync(join(base, d), { recursive: true });
    symlinkSync('usr/bin', join(base, 'bin'));
    writeFileSync(join(base, '.dockerenv'), '');
    const layout = scanBase(base);
    assert.deepEqual(layout.overlays, ['etc', 'opt', 'usr']);
    assert.deepEqual(layout.symlinks, [{ name: 'bin', target: 'usr/bin' }]);
    const p = statePaths(join(dir, 'state'));
    buildSkeleton(p, layout, null);
    buildSkeleton(p, layout, null); // idempotent
    assert.equal(readlinkSync(join(p.rootfs, 'bin')), 'usr/bin');
    assert.equal(lstatSync(join(p.rootfs, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(lstatSync(join(p.rootfs, 'root')).mode & 0o777, 0o700);
    for (const d of ['workspace', 'home/sandbox', 'usr', 'etc']) assert.ok(lstatSync(join(p.rootfs, d)).isDirectory(), d);
    assert.ok(lstatSync(join(p.upper, 'usr')).isDirectory() && lstatSync(join(p.work, 'usr')).isDirectory());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
