/**
 * kmd's Node flags reach kmd however it is started: bin/kmd (the launcher script, run here with
 * a stand-in Node that prints its arguments) passes KMD_NODE_FLAGS, bin/km does not, and this
 * Node accepts the flags.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KMD_NODE_FLAGS } from './spawn.ts';

const LAUNCHER = join(import.meta.dirname, '../../bin/km');

/** The arguments the launcher gives Node when run as `name`, from an install without dist/ or toolchain. */
function launcherArgs(name: 'km' | 'kmd'): string[] {
  const root = mkdtempSync(join(tmpdir(), 'km-launcher-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(LAUNCHER, join(root, 'bin/km'));
    chmodSync(join(root, 'bin/km'), 0o755);
    symlinkSync('km', join(root, 'bin/kmd'));
    writeFileSync(join(root, 'scripts/node'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', { mode: 0o755 });
    const out = execFileSync(join(root, 'bin', name), ['--version'], { encoding: 'utf8', env: { ...process.env, KM_CLIENT: '0' } });
    return out.trimEnd().split('\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('bin/kmd runs Node with KMD_NODE_FLAGS before the entry point; bin/km without the heap flag', () => {
  const kmd = launcherArgs('kmd');
  const entry = kmd.findIndex((a) => a.endsWith('/src/bin/kmd.ts'));
  assert.ok(entry > 0, `no kmd entry point in ${kmd.join(' ')}`);
  assert.deepEqual(kmd.slice(0, entry), [...KMD_NODE_FLAGS]);
  assert.deepEqual(kmd.slice(entry + 1), ['--version']);
  const km = launcherArgs('km');
  assert.ok(km.some((a) => a.endsWith('/src/bin/km.ts')), km.join(' '));
  assert.equal(km.some((a) => a.startsWith('--initial-old-space-size')), false);
});

test('this Node accepts every KMD_NODE_FLAGS entry (a mistyped V8 flag is refused)', () => {
  const run = (flags: readonly string[]): string[] =>
    JSON.parse(execFileSync(process.execPath, [...flags, '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as string[];
  assert.deepEqual(run(KMD_NODE_FLAGS).slice(0, KMD_NODE_FLAGS.length), [...KMD_NODE_FLAGS]);
  assert.throws(() => run(['--initial-old-space-sise=128']), /bad option/);
});
