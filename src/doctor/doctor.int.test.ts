/** km doctor's checks run for real on this host, with expectations computed independently. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { doctorContext, doctorFixers } from '../cli/doctor-context.ts';
import { systemClock } from '../core/clock.ts';
import { openSqliteStore, SCHEMA_VERSION } from '../store/index.ts';
import { LOCAL_CHECKS, applyFixes, runChecks } from './run.ts';
import type { CheckResult } from './types.ts';

async function kmHome(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'km-doctor-int-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return join(root, 'home');
}

const ctxFor = (stateDir: string) => doctorContext({ env: { ...process.env, KM_HOME: stateDir }, cwd: stateDir, nowMs: Date.now() });
const byName = (rs: CheckResult[]) => new Map(rs.map((r) => [r.name, r]));

test('every check yields a valid status and a message; user-namespaces matches `unshare -Ur true`', async (t) => {
  const stateDir = await kmHome(t);
  mkdirSync(stateDir, { mode: 0o700 });
  const results = await runChecks(ctxFor(stateDir));
  assert.deepEqual(results.map((r) => r.name), LOCAL_CHECKS.map((c) => c.name));
  for (const r of results) {
    assert.ok(['pass', 'warn', 'fail', 'skip'].includes(r.status), `${r.name}: ${r.status}`);
    assert.ok(r.message.length > 0, `${r.name} has a message`);
    assert.ok(r.hint === null || typeof r.hint === 'string');
    if (r.status === 'fail') assert.ok(r.hint, `${r.name} fails without a hint`);
  }
  const m = byName(results);
  const unshareWorks = spawnSync('unshare', ['-Ur', 'true']).status === 0;
  assert.equal(m.get('user-namespaces')?.status, unshareWorks ? 'pass' : 'fail');
  const bwrapWorks = spawnSync('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', 'true']).status === 0;
  assert.equal(m.get('bubblewrap')?.status, bwrapWorks ? 'pass' : 'fail');
  const tmuxThere = spawnSync('tmux', ['-V']).status === 0;
  assert.equal(m.get('tmux')?.status, tmuxThere ? 'pass' : 'fail');
  assert.equal(m.get('state-dir')?.status, 'pass');
  assert.equal(m.get('store')?.status, 'pass');
  assert.equal(m.get('node')?.status, 'pass');
});

test('store: a real database passes with its schema version; garbage fails', async (t) => {
  const stateDir = await kmHome(t);
  mkdirSync(stateDir, { mode: 0o700 });
  const store = await openSqliteStore(join(stateDir, 'km.db'), { clock: systemClock });
  await store.close();
  const good = byName(await runChecks(ctxFor(stateDir), LOCAL_CHECKS.filter((c) => c.name === 'store')));
  assert.equal(good.get('store')?.status, 'pass');
  assert.match(good.get('store')?.message ?? '', new RegExp(`schema version ${SCHEMA_VERSION}`));
  const bad = await kmHome(t);
  mkdirSync(bad, { mode: 0o700 });
  writeFileSync(join(bad, 'km.db'), 'this is not a database'.repeat(100));
  const r = byName(await runChecks(ctxFor(bad), LOCAL_CHECKS.filter((c) => c.name === 'store')));
  assert.equal(r.get('store')?.status, 'fail');
});

test('state-dir: a world-readable state directory warns', async (t) => {
  const stateDir = await kmHome(t);
  mkdirSync(stateDir, { mode: 0o755 });
  spawnSync('chmod', ['755', stateDir]);
  const only = LOCAL_CHECKS.filter((c) => c.name === 'state-dir');
  const results = await runChecks(ctxFor(stateDir), only);
  const r = byName(results);
  assert.equal(r.get('state-dir')?.status, 'warn');
  assert.match(r.get('state-dir')?.hint ?? '', /chmod 700/);
  const env = { ...process.env, KM_HOME: stateDir };
  const fixed = await applyFixes(results, ctxFor(stateDir), doctorFixers(env), () => ctxFor(stateDir), only);
  assert.deepEqual(fixed.fixes.map((f) => [f.check, f.ok]), [['state-dir', true]]);
  assert.equal(statSync(stateDir).mode & 0o777, 0o700);
  assert.equal(byName(fixed.results).get('state-dir')?.status, 'pass');
});
