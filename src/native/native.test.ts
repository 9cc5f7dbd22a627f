/**
 * buildNative (run by `npm test` before the suite): every helper and addon is named, and once
 * they are up to date nothing is rebuilt again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { NATIVE_ADDONS, NATIVE_HELPERS, buildNative, installedAddon, installedHelper } from './index.ts';

test('buildNative names every helper and addon, and a second run rebuilds nothing', () => {
  const first = buildNative();
  assert.deepEqual(first.map((r) => r.name), [...NATIVE_HELPERS, ...NATIVE_ADDONS]);
  const built = first.filter((r) => !r.reason).map((r) => r.name);
  const paths = built.map((n) => (NATIVE_HELPERS as readonly string[]).includes(n) ? installedHelper(n as (typeof NATIVE_HELPERS)[number]) : installedAddon(n as (typeof NATIVE_ADDONS)[number]));
  assert.ok(paths.every((p) => p !== null), 'what was built counts as installed');
  const before = paths.map((p) => statSync(p!).mtimeMs);
  const second = buildNative();
  assert.deepEqual(second.filter((r) => r.rebuilt).map((r) => r.name), [], 'nothing rebuilt');
  assert.deepEqual(paths.map((p) => statSync(p!).mtimeMs), before, 'no binary rewritten');
  for (const r of second) if (r.reason) assert.match(r.reason, /build|headers|missing|compiler/, r.name);
});
