import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { loadOperatorConfig } from './load.ts';
import { loadOperatorConfigCached } from './memo.ts';

function setup(t: { after(fn: () => void): void }): { home: string; cwd: string; env: NodeJS.ProcessEnv; cacheFile: string } {
  const root = mkdtempSync(join(tmpdir(), 'km-memo-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, 'home');
  const cwd = join(root, 'proj');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(cwd);
  return { home, cwd, env: { KM_HOME: home, HOME: root }, cacheFile: join(home, 'cache', 'config.json') };
}

const errorOf = async (p: Promise<unknown>): Promise<KmError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KmError, String(e));
    return e;
  }
  assert.fail('expected an error');
};

test('a cached load equals a full load, and the second call is served from the cache file', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.home, 'config.yaml'), 'max_sandboxes: 7\ntimezone: Europe/Berlin\n');
  writeFileSync(join(s.cwd, 'km-config.yaml'), 'max_sandboxes: 4\n');
  const env = { ...s.env, KM_INIT_TIMEOUT: '90s' };
  const full = await loadOperatorConfig({ env, cwd: s.cwd });
  const first = await loadOperatorConfigCached({ env, cwd: s.cwd }, 'build-1');
  assert.deepEqual(first, full);
  assert.equal(statSync(s.cacheFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(s.home, 'cache')).mode & 0o777, 0o700);
  // Tamper with the cached value (same key): a hit returns it, proving no re-validation ran.
  const body = JSON.parse(readFileSync(s.cacheFile, 'utf8')) as { key: string; loaded: { config: { max_sandboxes: number } } };
  body.loaded.config.max_sandboxes = 99;
  writeFileSync(s.cacheFile, JSON.stringify(body));
  assert.equal((await loadOperatorConfigCached({ env, cwd: s.cwd }, 'build-1')).config.max_sandboxes, 99);
});

test('any change to an input is a miss: file bytes, KM_ variables, another build, another directory', async (t) => {
  const s = setup(t);
  const user = join(s.home, 'config.yaml');
  writeFileSync(user, 'max_sandboxes: 7\n');
  const get = async (env = s.env, build = 'b1', cwd = s.cwd) => (await loadOperatorConfigCached({ env, cwd }, build)).config.max_sandboxes;
  assert.equal(await get(), 7);
  writeFileSync(user, 'max_sandboxes: 8\n');
  assert.equal(await get(), 8);
  assert.equal(await get({ ...s.env, KM_MAX_SANDBOXES: '3' }), 3);
  writeFileSync(join(s.cwd, 'km-config.yaml'), 'max_sandboxes: 5\n');
  assert.equal(await get(), 5);
  const other = join(s.cwd, 'sub');
  mkdirSync(other);
  assert.equal(await get(s.env, 'b1', other), 8);
  // Another directory without a project file shares the entry (a hit returns the poisoned 77).
  const poisoned = JSON.parse(readFileSync(s.cacheFile, 'utf8')) as { loaded: { config: { max_sandboxes: number } } };
  poisoned.loaded.config.max_sandboxes = 77;
  writeFileSync(s.cacheFile, JSON.stringify(poisoned));
  const third = join(s.cwd, 'third');
  mkdirSync(third);
  assert.equal(await get(s.env, 'b1', third), 77);
  writeFileSync(join(third, 'km-config.yaml'), 'max_sandboxes: 6\n');
  assert.equal(await get(s.env, 'b1', third), 6);
  assert.equal(await get(s.env, 'b1', other), 8);
  // A different build re-validates (poison the cache first: a hit would return 99).
  const body = JSON.parse(readFileSync(s.cacheFile, 'utf8')) as { loaded: { config: { max_sandboxes: number } } };
  body.loaded.config.max_sandboxes = 99;
  writeFileSync(s.cacheFile, JSON.stringify(body));
  assert.equal(await get(s.env, 'b2', other), 8);
});

test('an invalid config fails exactly as the full load does, and nothing is cached', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.home, 'config.yaml'), 'max_sandboxs: 7\n');
  const full = await errorOf(loadOperatorConfig({ env: s.env, cwd: s.cwd }));
  const cached = await errorOf(loadOperatorConfigCached({ env: s.env, cwd: s.cwd }, 'b1'));
  assert.equal(cached.code, 'config_invalid');
  assert.equal(cached.message, full.message);
  assert.equal(existsSync(s.cacheFile), false);
});

test('an unreadable config file is reported as by the full load', async (t) => {
  const s = setup(t);
  mkdirSync(join(s.cwd, 'km-config.yaml'));
  const full = await errorOf(loadOperatorConfig({ env: s.env, cwd: s.cwd }));
  const cached = await errorOf(loadOperatorConfigCached({ env: s.env, cwd: s.cwd }, 'b1'));
  assert.equal(cached.message, full.message);
});

test('no cache without a build id, and none written into a missing state directory', async (t) => {
  const s = setup(t);
  await loadOperatorConfigCached({ env: s.env, cwd: s.cwd }, null);
  assert.equal(existsSync(s.cacheFile), false);
  const missing = { ...s.env, KM_HOME: join(s.home, 'nope') };
  assert.equal((await loadOperatorConfigCached({ env: missing, cwd: s.cwd }, 'b1')).config.max_sandboxes, 10);
  assert.equal(existsSync(join(s.home, 'nope')), false);
});

test('a read-only state directory only loses the speed-up', async (t) => {
  const s = setup(t);
  if (process.geteuid?.() === 0) return t.skip('root writes through directory permissions');
  chmodSync(s.home, 0o500);
  t.after(() => chmodSync(s.home, 0o700));
  assert.equal((await loadOperatorConfigCached({ env: s.env, cwd: s.cwd }, 'b1')).config.max_sandboxes, 10);
});

test('a config holding a secret is never written to the cache (it is loaded in full each time)', async (t) => {
  const s = setup(t);
  const secret = 'corp-passphrase-1234567';
  for (const [file, env] of [
    ['audit:\n  redact_literals: ["corp-passphrase-1234567"]\n', {}],
    ['', { KM_SLACK_BOT_TOKEN: secret }],
    ['mail:\n  smtp:\n    host: smtp.example.test\n    password: corp-passphrase-1234567\n', {}],
    ['gateway:\n  upstream_proxy: "http://op:corp-passphrase-1234567@proxy.example.test:3128"\n', {}],
    ['notifiers:\n  webhook:\n    url: "https://hooks.example.test/services/corp-passphrase-1234567"\n', {}],
  ] as const) {
    writeFileSync(join(s.home, 'config.yaml'), file);
    rmSync(join(s.home, 'cache'), { recursive: true, force: true });
    const loaded = await loadOperatorConfigCached({ env: { ...s.env, ...env }, cwd: s.cwd }, 'b1');
    assert.ok(JSON.stringify(loaded.config).includes(secret), 'the secret is in the loaded config');
    assert.equal(existsSync(s.cacheFile), false, `cached with ${JSON.stringify(env)} ${file}`);
  }
  writeFileSync(join(s.home, 'config.yaml'), 'max_sandboxes: 3\n');
  await loadOperatorConfigCached({ env: s.env, cwd: s.cwd }, 'b1');
  assert.equal(existsSync(s.cacheFile), true, 'a config without secrets is cached');
});
