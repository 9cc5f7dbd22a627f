/**
 * End-to-end: `km policy explain` through bin/km (SPEC §3.7).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { policyCommands } from '../../src/cli/commands/policy.ts';

const KM = fileURLToPath(new URL('../../bin/km', import.meta.url));

let dir = '';
let kmHome = '';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function km(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KM, args, { cwd: cwd ?? dir, env: { ...process.env, KM_HOME: kmHome, NO_COLOR: '1', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const WEB = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: web
spec:
  network:
    egress:
      allowedHosts: [pkg.example.org, "db.corp.example:5432"]
      allowedDNSSuffixes: [.npmjs.org]
  sourceAccess:
    github:
      allowedRepos: [acme/api]
      allowedRefs: [main]
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'km-policy-e2e-'));
  kmHome = join(dir, '.km-home');
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  writeFileSync(join(dir, 'profiles', 'web.yaml'), WEB);
  writeFileSync(join(dir, 'broken.yaml'), WEB.replace('allowedHosts', 'allowedHostz'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the §3.7 example: deny with the closest entry, exit 0', async () => {
  const r = await km(['policy', 'explain', 'web', 'api.pkg.example.org']);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 3), [
    'DENY   api.pkg.example.org:443',
    '  dns:   deny   default-deny',
    '  http:  deny   default-deny  (closest entry: allowedHosts[0] "pkg.example.org" is exact)',
  ]);
  assert.match(r.stdout, /check with: km policy explain web api\.pkg\.example\.org/);
});

test('--json for an allowed suffix host, by file path', async () => {
  const r = await km(['policy', 'explain', 'profiles/web.yaml', 'https://registry.npmjs.org/left-pad', '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.decision, 'allow');
  assert.equal(j.host, 'registry.npmjs.org');
  assert.equal(j.port, 443);
  assert.equal(j.rule, 'spec.network.egress.allowedDNSSuffixes[0]');
  assert.deepEqual(j.dns, { decision: 'allow', rule: 'spec.network.egress.allowedDNSSuffixes[0]' });
  assert.equal(j.intercepted, false);
  assert.equal(j.intercept_reason, null);
  assert.equal(j.github, null);
});

test('a GitHub push URL: repo rule and the ref note', async () => {
  const r = await km(['policy', 'explain', 'web', 'https://github.com/acme/api.git/git-receive-pack', '--method', 'POST', '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.equal(j.decision, 'allow');
  assert.equal(j.rule, 'implicit:github');
  assert.equal(j.intercept_reason, 'source_access');
  assert.equal(j.github.repo, 'acme/api');
  assert.equal(j.github.rule, 'spec.sourceAccess.github.allowedRepos[0]');
  assert.match(j.github.note, /refs \[main\]/);
  const denied = await km(['policy', 'explain', 'web', 'https://github.com/acme/secret']);
  assert.equal(denied.code, 0);
  assert.match(denied.stdout, /^DENY {3}github\.com:443\n/);
  assert.match(denied.stdout, /github: deny {3}sourceAccess\.github\.allowedRepos {2}\(repo acme\/secret\)/);
});

test('metering hosts from the operator config are intercepted', async () => {
  const r = await km(['policy', 'explain', 'web', 'pkg.example.org', '--json'], { KM_METERING_EXTRA_HOSTS: '["pkg.example.org"]' });
  if (r.code !== 0) assert.fail(r.stderr);
  assert.equal(JSON.parse(r.stdout).intercept_reason, 'ai_metering');
});

test('a built-in profile by name', async () => {
  const r = await km(['policy', 'explain', 'sealed', 'api.anthropic.com', '--json']);
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).decision, 'deny');
});

test('unknown reference: not_found, exit 2', async () => {
  const r = await km(['policy', 'explain', 'nosuch', 'x.org', '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(JSON.parse(r.stderr).error.code, 'not_found');
});

test('invalid profile: diagnostics and profile_invalid, exit 2', async () => {
  const r = await km(['policy', 'explain', 'broken.yaml', 'x.org']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.yaml:\d+:\d+: .*allowedHostz/);
  assert.match(r.stderr, /km: error: broken\.yaml is invalid/);
});

test('bad target and bad method are usage errors', async () => {
  assert.equal((await km(['policy', 'explain', 'web', 'ftp://x.org/'])).code, 2);
  assert.equal((await km(['policy', 'explain', 'web', 'x.org', '--method', 'G E T'])).code, 2);
});

test('--method with a bare host is refused (it would have no effect)', async () => {
  const r = await km(['policy', 'explain', 'web', 'pkg.example.org', '--method', 'POST']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--method applies to URLs only/);
});

test('the examples in km policy explain --help run from the project root', async () => {
  const examples = policyCommands.flatMap((c) => c.examples ?? []);
  assert.ok(examples.length >= 3);
  const runs = await Promise.all(examples.map((e) => km(e.replace(/^km /, '').split(' '), {}, ROOT)));
  runs.forEach((r, i) => assert.equal(r.code, 0, `${examples[i]}: ${r.stderr}`));
  assert.match(runs[0]?.stdout ?? '', /^ALLOW  api\.anthropic\.com:443\n/);
  const help = await km(['policy', 'explain', '--help']);
  for (const e of examples) assert.ok(help.stdout.includes(e), e);
});
