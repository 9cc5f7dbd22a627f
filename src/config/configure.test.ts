import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { KmError } from '../core/errors.ts';
import { configure } from './configure.ts';
import { editConfigText } from './edit.ts';

async function setup(t: TestContext): Promise<{ dir: string; home: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'km-configure-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  return { dir, home, file: join(home, 'config.yaml') };
}

/** Scripted answers; records the questions asked. */
function answers(list: string[]): { ask: (q: string) => Promise<string>; questions: string[] } {
  const questions: string[] = [];
  return {
    questions,
    ask: async (q) => {
      questions.push(q);
      return list.shift() ?? '';
    },
  };
}

test('interactive: asks resource_prefix and email_subdomain first, with defaults; re-asks after a bad answer', async (t) => {
  const { dir, home, file } = await setup(t);
  const notes: string[] = [];
  const a = answers(['Bad Prefix', 'staging', '', 'docker', '25']);
  const r = await configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: [], ask: a.ask, acceptDefaults: false, note: (l) => notes.push(l) });
  assert.match(a.questions[0] ?? '', /^resource_prefix \(Prefix of every AWS name.*\) \[km\]: $/);
  assert.match(a.questions[1] ?? '', /^resource_prefix .*\[km\]: $/, 'asked again');
  assert.match(a.questions[2] ?? '', /^email_subdomain .*\[sandboxes\]: $/);
  assert.match(a.questions[3] ?? '', /^default_substrate .*\[local\]: $/);
  assert.match(notes[0] ?? '', /must start with a lowercase letter.*try again/);
  assert.deepEqual(r.changed, ['resource_prefix', 'email_subdomain', 'default_substrate', 'max_sandboxes']);
  assert.equal(await readFile(file, 'utf8'), 'resource_prefix: staging\nemail_subdomain: sandboxes\ndefault_substrate: docker\nmax_sandboxes: 25\n');
  const again = answers([]);
  const r2 = await configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: [], ask: again.ask, acceptDefaults: false, note: () => {} });
  assert.match(again.questions[0] ?? '', /\[staging\]: $/, 'current values are offered');
  assert.deepEqual([r2.written, r2.changed], [false, []]);
});

test('interactive: five bad answers give up with a usage error', async (t) => {
  const { dir, home } = await setup(t);
  const a = answers(Array.from({ length: 5 }, () => 'NOPE'));
  await assert.rejects(
    configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: [], ask: a.ask, acceptDefaults: false, note: () => {} }),
    (e: unknown) => e instanceof KmError && e.code === 'usage' && /no valid value for resource_prefix/.test(e.message),
  );
});

test('a value valid alone but invalid in context is refused with the file position', async (t) => {
  const { dir, home, file } = await setup(t);
  await mkdir(home);
  await writeFile(file, 'mail:\n  smtp:\n    host: smtp.example.com\n    port: 25\n');
  await assert.rejects(
    configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: ['mail.smtp.host='], acceptDefaults: false, note: () => {} }),
    (e: unknown) => e instanceof KmError && e.code === 'config_invalid' && /config\.yaml:3:5: mail\.smtp\.host: missing required key "host"/.test(e.message),
  );
  assert.equal(await readFile(file, 'utf8'), 'mail:\n  smtp:\n    host: smtp.example.com\n    port: 25\n', 'file untouched');
  assert.deepEqual((await readdir(home)).sort(), ['config.yaml'], 'no temp files left behind');
});

test('environment overrides do not block writing the file, and shadowed values are pointed out', async (t) => {
  const { dir, home, file } = await setup(t);
  const notes: string[] = [];
  const r = await configure({ env: { KM_HOME: home, KM_MAX_SANDBOXES: 'junk' }, cwd: dir, scope: 'user', sets: ['max_sandboxes=5', 'retention_days=3'], acceptDefaults: false, note: (l) => notes.push(l) });
  assert.equal(r.written, true);
  assert.equal(await readFile(file, 'utf8'), 'max_sandboxes: 5\nretention_days: 3\n');
  await writeFile(join(dir, 'km-config.yaml'), 'retention_days: 9\n');
  await configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: ['retention_days=4'], acceptDefaults: false, note: (l) => notes.push(l) });
  assert.deepEqual(notes, ['note: KM_MAX_SANDBOXES in the environment overrides max_sandboxes', `note: ${join(dir, 'km-config.yaml')} sets retention_days too, and wins over the user file`]);
});

test('prompts offer what the file inherits, not what a higher layer sets', async (t) => {
  const { dir, home, file } = await setup(t);
  await writeFile(join(dir, 'km-config.yaml'), 'resource_prefix: proj\n');
  const a = answers([]);
  await configure({ env: { KM_HOME: home }, cwd: dir, scope: 'user', sets: [], ask: a.ask, acceptDefaults: false, note: () => {} });
  assert.match(a.questions[0] ?? '', /\[km\]: $/);
  assert.equal(await readFile(file, 'utf8'), 'resource_prefix: km\nemail_subdomain: sandboxes\n');
  const p = answers([]);
  await configure({ env: { KM_HOME: home }, cwd: dir, scope: 'project', sets: [], ask: p.ask, acceptDefaults: false, note: () => {} });
  assert.match(p.questions[0] ?? '', /\[proj\]: $/, 'the project file shows its own value');
});

test('editConfigText: map entries with dots, quoting of digit strings, empty sections removed', () => {
  const text = 'gateway:\n  host_overrides:\n    a.example: 10.0.0.1\n';
  const out = editConfigText('c.yaml', text, [
    { path: ['gateway', 'host_overrides', 'api.example.com'], value: '127.0.0.1:8443' },
    { path: ['accounts', 'management'], value: '012345678901' },
  ]);
  assert.equal(out, 'gateway:\n  host_overrides:\n    a.example: 10.0.0.1\n    api.example.com: 127.0.0.1:8443\naccounts:\n  management: "012345678901"\n');
  const removed = editConfigText('c.yaml', out, [
    { path: ['gateway', 'host_overrides', 'a.example'], value: undefined },
    { path: ['gateway', 'host_overrides', 'api.example.com'], value: undefined },
  ]);
  assert.equal(removed, 'accounts:\n  management: "012345678901"\n');
  assert.throws(() => editConfigText('c.yaml', 'a: [1\n', []), (e: unknown) => e instanceof KmError && /cannot edit c\.yaml; it is not valid YAML:\n {2}c\.yaml:\d+:\d+: YAML/.test(e.message));
  assert.throws(() => editConfigText('c.yaml', '- 1\n', []), /not a mapping/);
});
