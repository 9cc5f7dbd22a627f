/** `km configure` through the real CLI (bin/km) with KM_HOME in a temp dir. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadOperatorConfig } from '../../src/config/index.ts';
import { runKm } from './lifecycle-support.ts';

const KM = resolve(import.meta.dirname, '../../bin/km');

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function km(dir: string, args: string[], env: Record<string, string> = {}): Promise<Out> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KM_')));
  return runKm(args, { ...clean, KM_HOME: join(dir, 'home'), NO_COLOR: '1', ...env }, dir);
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'km-configure-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('km configure --set writes the user file atomically and the loader reads it back', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'home', 'config.yaml');
  const r = await km(dir, ['configure', '--set', 'max_sandboxes=20', '--set', 'gateway.upstream_dns=10.0.0.2,10.0.0.3:5353', '--set', 'resource_prefix=staging']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${file}\n`);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const loaded = await loadOperatorConfig({ env: { KM_HOME: join(dir, 'home') }, cwd: dir });
  assert.deepEqual(loaded.files, [file]);
  assert.equal(loaded.config.max_sandboxes, 20);
  assert.equal(loaded.config.resource_prefix, 'staging');
  assert.deepEqual(loaded.config.gateway.upstream_dns, ['10.0.0.2', '10.0.0.3:5353']);
});

test('km configure keeps comments and unrelated keys, and removes a key given an empty value', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'home', 'config.yaml');
  await km(dir, ['configure', '--set', 'timezone=UTC']);
  await writeFile(file, '# team settings\ndomain: example.com # mail domain\nmax_sandboxes: 4\n');
  const r = await km(dir, ['configure', '--set', 'max_sandboxes=', '--set', 'operator_email=ops@example.com', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { file, written: true, changed: ['max_sandboxes', 'operator_email'] });
  assert.equal(await readFile(file, 'utf8'), '# team settings\ndomain: example.com # mail domain\noperator_email: ops@example.com\n');
  const again = await km(dir, ['configure', '--set', 'operator_email=ops@example.com', '--json']);
  assert.deepEqual(JSON.parse(again.stdout), { file, written: false, changed: [] });
});

test('km configure --project writes ./km-config.yaml (or KM_CONFIG), which wins over the user file', async (t) => {
  const dir = await tempDir(t);
  await km(dir, ['configure', '--set', 'max_sandboxes=3']);
  const r = await km(dir, ['configure', '--project', '--set', 'max_sandboxes=7']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(dir, 'km-config.yaml')}\n`);
  const loaded = await loadOperatorConfig({ env: { KM_HOME: join(dir, 'home') }, cwd: dir });
  assert.equal(loaded.config.max_sandboxes, 7);
  const named = await km(dir, ['configure', '--project', '--set', 'retention_days=5'], { KM_CONFIG: 'team.yaml' });
  assert.equal(named.stdout, `${join(dir, 'team.yaml')}\n`);
  assert.equal(await readFile(join(dir, 'team.yaml'), 'utf8'), 'retention_days: 5\n');
  const both = await km(dir, ['configure', '--user', '--project', '--set', 'max_sandboxes=1']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--user and --project are mutually exclusive/);
});

test('km configure --non-interactive records resource_prefix and email_subdomain defaults', async (t) => {
  const dir = await tempDir(t);
  const r = await km(dir, ['configure', '--non-interactive']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(dir, 'home', 'config.yaml'), 'utf8'), 'resource_prefix: km\nemail_subdomain: sandboxes\n');
});

test('km configure refuses bad input and writes nothing', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'home', 'config.yaml');
  const noTty = await km(dir, ['configure']);
  assert.equal(noTty.code, 2);
  assert.match(noTty.stderr, /km: error: km configure needs a terminal to ask its questions\n {2}hint: pass settings with --set key=value/);
  const cases: Array<[string, RegExp]> = [
    ['max_sandboxes=ten', /--set max_sandboxes: expected a number, got "ten"/],
    ['max_sandboxs=3', /unknown config key "max_sandboxs"; did you mean "max_sandboxes"\?/],
    ['gateway=1', /"gateway" is a section; set one of its keys/],
    ['nokey', /--set needs key=value, got "nokey"/],
    ['resource_prefix=Prod_1', new RegExp(`config\\.yaml would be invalid; nothing was written:\\n {2}${file.replace(/[.]/g, '\\.')}:1:18: resource_prefix: must start with a lowercase letter`)],
  ];
  for (const [set, re] of cases) {
    const r = await km(dir, ['configure', '--set', set]);
    assert.equal(r.code, 2, set);
    assert.match(r.stderr, re, set);
  }
  await assert.rejects(stat(file), /ENOENT/, 'nothing was written');
  const json = await km(dir, ['configure', '--set', 'max_sandboxes=0', '--json']);
  assert.equal(JSON.parse(json.stderr).error.code, 'config_invalid');
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test('km configure on a terminal asks its questions and writes the answers', { skip: hasScript ? false : 'needs script(1) (bsdutils) to provide a terminal' }, async (t) => {
  const dir = await tempDir(t);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KM_')));
  const child = spawn('script', ['-qfec', `${KM} configure`, '/dev/null'], { env: { ...clean, KM_HOME: join(dir, 'home'), NO_COLOR: '1' }, cwd: dir });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // resource_prefix, email_subdomain (keep), default_substrate, then keep the rest.
  child.stdin.write('Bad!\nprod\n\ndocker\n\n\n\n\n\n');
  const code = await new Promise<number | null>((done) => child.on('close', done));
  assert.equal(code, 0, out);
  assert.match(out, /resource_prefix \(Prefix of every AWS name[^)]*\) \[km\]: /);
  assert.match(out, /must start with a lowercase letter.*try again/);
  assert.match(out, /email_subdomain .*\[sandboxes\]: /);
  assert.equal(await readFile(join(dir, 'home', 'config.yaml'), 'utf8'), 'resource_prefix: prod\nemail_subdomain: sandboxes\ndefault_substrate: docker\n');
});

test('km configure github copies the App key (0600) and records the three keys', async (t) => {
  const dir = await tempDir(t);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  await writeFile(join(dir, 'app.pem'), pem);
  const r = await km(dir, ['configure', 'github', '--app-id', '123456', '--installation-id', '7890123', '--private-key-file', 'app.pem', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const keyFile = join(dir, 'home', 'github-app.pem');
  assert.deepEqual(JSON.parse(r.stdout), {
    file: join(dir, 'home', 'config.yaml'),
    written: true,
    changed: ['github_app_id', 'github_installation_id', 'github_private_key_file'],
    key_file: keyFile,
  });
  assert.equal(await readFile(keyFile, 'utf8'), pem);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  const loaded = await loadOperatorConfig({ env: { KM_HOME: join(dir, 'home') }, cwd: dir });
  assert.deepEqual([loaded.config.github_app_id, loaded.config.github_installation_id, loaded.config.github_private_key_file], ['123456', '7890123', keyFile]);

  await writeFile(join(dir, 'not-a-key.pem'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  const bad = await km(dir, ['configure', 'github', '--app-id', '1', '--installation-id', '2', '--private-key-file', 'not-a-key.pem']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not-a-key\.pem is not a GitHub App private key/);
  const missing = await km(dir, ['configure', 'github', '--app-id', '1']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /km configure github needs --installation-id, --private-key-file/);
  const stray = await km(dir, ['configure', '--app-id', '1']);
  assert.match(stray.stderr, /--app-id belongs to km configure github/);
  assert.equal(await readFile(keyFile, 'utf8'), pem, 'the stored key is unchanged by the failed attempts');
});
