/**
 * End-to-end: `km validate` and `km profile …` through bin/km (SPEC §1.5–1.7, §2).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { profileCommands } from '../../src/cli/commands/profile.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KM = join(ROOT, 'bin/km');
const GOOSE_SEED = join(ROOT, 'src/profile/testdata/goose-from-seed.yaml');

let dir = '';
let kmHome = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function km(args: string[], cwd = dir, env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(KM, args, { cwd, env: { ...process.env, KM_HOME: kmHome, NO_COLOR: '1', ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const HEAD = 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\n';
const write = (name: string, text: string | Uint8Array) => {
  writeFileSync(join(dir, name), text);
  return name;
};
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'km-profile-e2e-'));
  kmHome = join(dir, '.km-home');
  mkdirSync(join(kmHome, 'profiles'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the goose seed validates verbatim', async () => {
  const r = await km(['validate', GOOSE_SEED]);
  assert.equal(r.stdout, `${GOOSE_SEED}: valid\n`);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('a misspelled key is an error naming file, line, column and key', async () => {
  const f = write('typo.yaml', `${HEAD}metadata:\n  name: typo\nspec:\n  lifecylce:\n    ttl: 2h\n`);
  const r = await km(['validate', f]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'typo.yaml:6:3: spec.lifecylce: unknown key "lifecylce"; did you mean "lifecycle"?\n');
  assert.equal(r.stdout, 'typo.yaml: invalid (1 error)\n');
});

test('bad inputs fail fast with one clear line each', async (t) => {
  mkdirSync(join(dir, 'adir'));
  write('empty.yaml', '');
  const garbage = new Uint8Array(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 151 + 7) % 256;
  write('garbage.yaml', garbage);
  write('huge.yaml', new Uint8Array(50 * 1024 * 1024).fill(0x61));
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    laughs.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  write('laughs.yaml', laughs.join('\n') + '\n');
  let deep = `${HEAD}metadata: {name: deep}\nspec:\n`;
  for (let i = 0; i < 100; i++) deep += `${'  '.repeat(i + 1)}k${i}:\n`;
  write('deep.yaml', deep + `${'  '.repeat(101)}v: 1\n`);
  write('api.yaml', 'apiVersion: klankermaker.ai/v2\nkind: SandboxProfile\nmetadata: {name: x}\n');
  write('kind.yaml', 'apiVersion: klankermaker.ai/v1alpha1\nkind: Pod\nmetadata: {name: x}\n');
  const cases: Array<[string, RegExp]> = [
    ['./missing.yaml', /^\.\/missing\.yaml: no such file$/],
    ['./adir', /^\.\/adir: is a directory/],
    ['empty.yaml', /^empty\.yaml:1:1: file is empty/],
    ['garbage.yaml', /^garbage\.yaml:1:1: file contains NUL bytes; it looks binary/],
    ['huge.yaml', /^huge\.yaml: file is 52428800 bytes; the limit is 1048576 \(1 MiB\)$/],
    ['laughs.yaml', /^laughs\.yaml:1:1: YAML aliases expand beyond 10000 nodes/],
    ['deep.yaml', /^deep\.yaml:1:1: document is nested (?:more than )?\d+ levels deep; the limit is 64$/],
    ['api.yaml', /^api\.yaml:1:13: apiVersion: unsupported "klankermaker\.ai\/v2"; this version of km reads klankermaker\.ai\/v1alpha1$/],
    ['kind.yaml', /^kind\.yaml:2:7: kind: unsupported "Pod"; a profile has kind: SandboxProfile$/],
  ];
  for (const [file, pattern] of cases) {
    await t.test(file, async () => {
      const r = await km(['validate', file]);
      assert.equal(r.code, 1);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0] as string, pattern);
      assert.equal(r.stdout, `${file}: invalid (1 error)\n`);
      // A hang guard, not a speed target: each limit is proved by its message above; an input
      // that were expanded or read in full (50 MiB, 10^10 aliases) would take far longer.
      assert.ok(r.ms < 10_000, `${file} took ${Math.round(r.ms)} ms`);
    });
  }
});

test('every argument is checked even after failures; JSON has the documented shape', async () => {
  const bad = write('bad-ttl.yaml', `${HEAD}metadata: {name: bad}\nspec:\n  lifecycle: {ttl: 30m, idleTimeout: 1h}\n`);
  const frag = write('frag.yaml', `${HEAD}metadata: {name: frag, abstract: true}\n`);
  const r = await km(['validate', bad, 'sealed', frag]);
  assert.equal(r.code, 1);
  assert.deepEqual(lines(r.stdout), [
    'bad-ttl.yaml: invalid (1 error)',
    'sealed: valid',
    'frag.yaml: skipped (abstract fragment; checked through the profiles that extend it)',
  ]);
  const j = await km(['validate', '--json', bad, 'sealed', frag]);
  assert.equal(j.code, 1);
  assert.equal(j.stderr, '');
  assert.deepEqual(JSON.parse(j.stdout), [
    {
      file: 'bad-ttl.yaml',
      status: 'invalid',
      errors: [{ file: 'bad-ttl.yaml', line: 5, col: 20, path: 'spec.lifecycle.ttl', message: 'ttl (30m) is shorter than idleTimeout (1h); raise ttl or lower idleTimeout' }],
      warnings: [],
    },
    { file: 'sealed', status: 'valid', errors: [], warnings: [] },
    { file: 'frag.yaml', status: 'skipped', errors: [], warnings: [] },
  ]);
  const skipped = await km(['validate', frag]);
  assert.equal(skipped.code, 0);
});

test('warnings pass unless --strict; --substrate checks against another substrate', async () => {
  const f = write('spot.yaml', `${HEAD}metadata: {name: spot}\nspec:\n  runtime: {spot: true, hibernation: true}\n`);
  const plain = await km(['validate', f]);
  assert.equal(plain.code, 0);
  assert.equal(plain.stdout, 'spot.yaml: valid (with warnings)\n');
  assert.equal(plain.stderr, 'spot.yaml:5:19: spec.runtime.spot: warning: has no effect on the local substrate\n');
  const strict = await km(['validate', '--strict', f]);
  assert.equal(strict.code, 1);
  assert.equal(strict.stdout, 'spot.yaml: invalid (1 warning with --strict)\n');
  const ec2 = await km(['validate', '--substrate', 'ec2', f]);
  assert.equal(ec2.code, 1);
  assert.equal(ec2.stderr, 'spot.yaml:5:38: spec.runtime.hibernation: hibernation cannot be combined with spot: true on ec2; turn one of them off\n');
  const usage = await km(['validate', '--substrate', 'mars', f]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^km: error: invalid value "mars" for --substrate/);
  const none = await km(['validate']);
  assert.equal(none.code, 2);
});

test('an inherited error is reported at the parent, with (inherited by …)', async () => {
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  write('profiles/team-base.yaml', `${HEAD}metadata: {name: team-base, abstract: true}\nspec:\n  network:\n    egress:\n      allowedHosts: ["*.npmjs.org"]\n`);
  const leaf = write('team.yaml', `${HEAD}extends: team-base\nmetadata: {name: team}\n`);
  const r = await km(['validate', leaf]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'profiles/team-base.yaml:7:22: spec.network.egress.allowedHosts[0]: "*.npmjs.org" is not a valid host pattern; write ".npmjs.org" for the domain and its subdomains (inherited by team.yaml)\n',
  );
});

test('names resolve through ./profiles and $KM_HOME/profiles', async () => {
  writeFileSync(join(kmHome, 'profiles', 'homeprof.yaml'), `${HEAD}extends: builtin:sealed\nmetadata: {name: homeprof}\n`);
  write('profiles/localprof.yaml', `${HEAD}extends: homeprof\nmetadata: {name: localprof}\n`);
  const r = await km(['validate', 'localprof', 'homeprof']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ['localprof: valid', 'homeprof: valid']);
  const missing = await km(['validate', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'nosuch: profile "nosuch" not found (looked in ./profiles, ./.km-home/profiles and the built-ins)\n');
  const list = await km(['profile', 'list', '--json']);
  const rows = JSON.parse(list.stdout) as Array<{ name: string; source: string; path: string; abstract: boolean }>;
  assert.deepEqual(rows.filter((x) => x.source === 'builtin').map((x) => x.name), ['learn', 'goose', 'codex', 'hardened', 'sealed', 'open-dev', 'restricted-dev']);
  assert.deepEqual(
    rows.filter((x) => x.source === 'file').map((x) => [x.name, x.path, x.abstract]),
    [
      ['localprof', 'profiles/localprof.yaml', false],
      ['team-base', 'profiles/team-base.yaml', true],
      ['homeprof', '.km-home/profiles/homeprof.yaml', false],
    ],
  );
  const text = await km(['profile', 'list']);
  assert.match(text.stdout, /^NAME +SOURCE +DESCRIPTION\nlearn +builtin +Default exploratory profile/);
});

test('operator config supplies the search paths, the default substrate and the region', async () => {
  const cwd = join(dir, 'opcfg');
  mkdirSync(join(cwd, 'team'), { recursive: true });
  writeFileSync(join(cwd, 'km-config.yaml'), 'default_substrate: ec2\nregion: eu-west-1\nprofile_search_paths: [./team]\n');
  writeFileSync(join(cwd, 'team', 'teamprof.yaml'), `${HEAD}metadata: {name: teamprof}\nspec:\n  runtime: {spot: true, hibernation: true}\n`);
  const r = await km(['validate', 'teamprof'], cwd);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^team\/teamprof\.yaml:5:38: spec\.runtime\.hibernation: hibernation cannot be combined with spot: true on ec2/);
  const local = await km(['validate', '--substrate', 'local', 'teamprof'], cwd);
  assert.equal(local.code, 0, local.stderr);
  const shown = await km(['profile', 'show', '--resolved', '--json', 'sealed'], cwd);
  const spec = JSON.parse(shown.stdout).profile.spec;
  assert.equal(spec.runtime.substrate, 'ec2');
  assert.equal(spec.runtime.region, 'eu-west-1');
  assert.equal(spec.runtime.instanceType, 't3.medium');
  assert.deepEqual(spec.identity.allowedRegions, ['eu-west-1']);
  const envOverride = await km(['validate', 'teamprof'], cwd, { KM_DEFAULT_SUBSTRATE: 'docker' });
  assert.equal(envOverride.stdout, 'teamprof: valid (with warnings)\n', envOverride.stderr);
});

/** Every leaf value of `expected` appears at the same path in `actual`. */
function assertContains(actual: unknown, expected: unknown, path = ''): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} missing`);
    for (const [k, v] of Object.entries(expected)) assertContains((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

test('profile show round-trips every field of the goose seed', async () => {
  const seed = parse(readFileSync(GOOSE_SEED, 'utf8'));
  const asWritten = await km(['profile', 'show', GOOSE_SEED]);
  assert.equal(asWritten.code, 0, asWritten.stderr);
  assert.match(asWritten.stdout, /^# km profile show /);
  assert.deepEqual(parse(asWritten.stdout), seed);
  const resolvedJson = await km(['profile', 'show', '--resolved', '--json', GOOSE_SEED]);
  const shown = JSON.parse(resolvedJson.stdout);
  assert.equal(shown.name, 'goose');
  assertContains(shown.profile, seed);
  assert.equal(shown.profile.spec.cli.notifyCooldownSeconds, 300, 'defaults applied');
  const resolvedYaml = await km(['profile', 'show', '--resolved', GOOSE_SEED]);
  assert.match(resolvedYaml.stdout, /^# km profile show --resolved .*\n# merged from .*\n# {3}goose +~?\/.*goose-from-seed\.yaml\n/);
  assertContains(parse(resolvedYaml.stdout), seed);
  const again = write('goose-resolved.yaml', resolvedYaml.stdout);
  const check = await km(['validate', again]);
  assert.equal(check.stdout, 'goose-resolved.yaml: valid\n', check.stderr);
});

test('profile show --resolved names the file each parent came from', async () => {
  write('child.yaml', `${HEAD}extends: [restricted-dev]\nmetadata: {name: child}\nspec:\n  sourceAccess:\n    github:\n      allowedRepos: [acme/api]\n`);
  const r = await km(['profile', 'show', '--resolved', 'child.yaml']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /# {3}restricted-dev +~?\/.*\/profiles\/restricted-dev\.yaml \(built-in\)\n# {3}child +child\.yaml\n/);
  const doc = parse(r.stdout);
  assert.deepEqual(doc.spec.sourceAccess.github.allowedRepos, ['acme/api']);
  assert.deepEqual(doc.spec.sourceAccess.github.allowedRefs, ['main', 'develop']);
  assert.equal(doc.extends, undefined);
  const invalid = await km(['profile', 'show', 'typo.yaml']);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /typo\.yaml:6:3: spec\.lifecylce: unknown key/);
});

test('profile schema prints a draft 2020-12 JSON Schema', async () => {
  const r = await km(['profile', 'schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout);
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(schema.required, ['apiVersion', 'kind', 'metadata']);
  assert.equal(schema.properties.spec.properties.lifecycle.properties.maxLifetime.type, 'string');
});

test('every built-in validates by name and as a file from the project root', async () => {
  const names = ['learn', 'goose', 'codex', 'hardened', 'sealed', 'open-dev', 'restricted-dev'];
  const byName = await km(['validate', '--strict', ...names], ROOT);
  assert.equal(byName.code, 0, byName.stderr);
  assert.deepEqual(lines(byName.stdout), names.map((n) => `${n}: valid`));
  const files = names.map((n) => `profiles/${n}.yaml`);
  const byFile = await km(['validate', ...files], ROOT);
  assert.equal(byFile.code, 0, byFile.stderr);
  assert.deepEqual(lines(byFile.stdout), files.map((f) => `${f}: valid`));
});

test('the examples in the help of km validate and km profile run', async () => {
  const cwd = join(dir, 'examples');
  mkdirSync(cwd);
  symlinkSync(join(ROOT, 'profiles'), join(cwd, 'profiles'));
  const examples = profileCommands.flatMap((c) => c.examples ?? []);
  assert.ok(examples.length >= 8);
  for (const e of examples) {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('/bin/sh', ['-c', e.replace(/^km /, `"${KM}" `)], { cwd, env: { ...process.env, KM_HOME: kmHome } }, (err, _out, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
      );
    });
    assert.equal(r.code, 0, `${e}: ${r.stderr}`);
  }
  assert.equal(JSON.parse(readFileSync(join(cwd, 'sandbox-profile.schema.json'), 'utf8')).title, 'SandboxProfile');
});
