/**
 * `km learn` through bin/km against a real store, without running a sandbox: a sandbox row
 * and gateway events are written to $KM_HOME/km.db the way kmd writes them, then the
 * commands' messages, JSON shapes, file naming, --base, --diff and errors are checked.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { systemClock } from '../../src/core/clock.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { runKm } from './lifecycle-support.ts';

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function env(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'km-e2e-learn-cli-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const store: Store = await openSqliteStore(join(home, 'km.db'), { clock: systemClock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await store.insertSandbox({
    id: 'sb-0a1b2c3d', alias: 'demo', profileName: 'open-dev', substrate: 'local', status: 'running', createdAtMs: Date.now() - 60_000,
    teardownPolicy: 'destroy', enforcementRequested: 'proxy', createdBy: 'cli', profile: { spec: { observability: { learnMode: false } } },
  });
  const km = (args: string[], cwd = dir): Promise<Out> => runKm(args, { ...process.env, KM_HOME: home, NO_COLOR: '1', TZ: 'UTC', KM_TIMEZONE: 'UTC' }, cwd);
  const gateway = (eventType: string, detail: Record<string, unknown>) =>
    store.appendEvents([{ sandboxId: 'sb-0a1b2c3d', eventType, source: 'gateway', detail, timestampMs: Date.now() }]);
  return { dir, km, gateway };
}

test('km learn: no session, start/stop messages, status, generate (file naming, --base, --diff, --json), errors', async (t) => {
  const { dir, km, gateway } = await env(t);
  const none = await km(['learn', 'generate', 'demo']);
  assert.deepEqual([none.code, none.stderr], [1, 'km: error: demo has no learn session; start one with km learn start demo or km shell --learn demo\n']);
  assert.equal((await km(['learn', 'status', 'demo'])).stdout, 'demo has no learn session; start one with km learn start demo\n');
  assert.equal((await km(['learn', 'stop', 'demo'])).stdout, 'demo was not recording; nothing changed\n');

  assert.equal((await km(['learn', 'start', 'demo'])).stdout, 'Recording demo (learn session ls-1); stop with km learn stop demo\n');
  assert.match((await km(['learn', 'start', '1'])).stdout, /^already recording since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(learn session ls-1 of demo\)\n$/);
  await gateway('dns.query', { name: 'static.crates.io', type: 'A', decision: 'allow', rule: 'x' });
  await gateway('http.connect', { host: 'sh.rustup.rs', port: 443, decision: 'allow' });
  await gateway('http.request', { host: 'registry.npmjs.org', port: 443, decision: 'allow' });
  await gateway('dns.query', { name: 'evil.example', type: 'A', decision: 'deny', rule: 'default-deny' });
  await gateway('git.access', { host: 'github.com', repo: 'acme/api', decision: 'allow' });
  await gateway('git.push', { host: 'github.com', repo: 'acme/api', decision: 'allow', updates: [{ ref: 'refs/heads/feature/x', kind: 'create', decision: 'allow' }] });
  const human = await km(['learn', 'status', 'demo']);
  assert.match(human.stdout, /^demo: recording since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(learn session ls-1\)\nobserved: 2 DNS names, 2 hosts, 1 repo, 1 ref, 0 commands, 1 denial\n$/);
  const st = JSON.parse((await km(['learn', 'status', 'demo', '--json'])).stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(st).slice(0, 5), ['sandbox_id', 'recording', 'session_id', 'started_at', 'stopped_at']);
  assert.deepEqual(st.counts, { dns_names: 2, hosts: 2, repos: 1, refs: 1, commands: 0, denials: 1 });
  assert.match(String(st.started_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal((await km(['learn', 'stop', 'demo'])).stdout, 'Stopped learn session ls-1 of demo; generate the profile with km learn generate demo\n');

  const gen = await km(['learn', 'generate', 'demo']);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(gen.stdout, 'Wrote observed-profile.yaml from learn session ls-1 of demo (observed: 2 DNS names, 2 hosts, 1 repo, 1 ref, 0 commands, 1 denial)\n');
  assert.equal(gen.stderr, 'Review it, then: km validate observed-profile.yaml\n');
  const doc = parse(readFileSync(join(dir, 'observed-profile.yaml'), 'utf8'));
  assert.deepEqual(doc.spec.network.egress.allowedDNSSuffixes, ['.crates.io', '.evil.example', '.npmjs.org', '.rustup.rs']);
  assert.equal(doc.spec.network.enforcement, 'proxy');
  assert.match(doc.metadata.name, /^observed-\d{8}-\d{6}$/);
  assert.equal((await km(['validate', 'observed-profile.yaml'])).code, 0);

  const second = await km(['learn', 'generate', 'demo', '--exact', '--json']);
  const j = JSON.parse(second.stdout) as { file: string; profile: any; counts: unknown; suffix_map: unknown };
  assert.match(j.file, /observed-profile\.\d{8}-\d{6}\.yaml$/);
  assert.deepEqual(j.profile.spec.network.egress.allowedHosts, ['evil.example', 'registry.npmjs.org', 'sh.rustup.rs', 'static.crates.io']);
  assert.deepEqual(j.suffix_map, {});
  assert.match(second.stderr, /^observed-profile\.yaml exists; wrote observed-profile\.\d{8}-\d{6}\.yaml instead \(nothing was overwritten\)\nReview it, then: km validate observed-profile\.\d{8}-\d{6}\.yaml\n$/);

  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'team-base.yaml'), 'apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nextends: restricted-dev\nmetadata:\n  name: team-base\n');
  const based = await km(['learn', 'generate', 'demo', '--base', './team-base.yaml', '-o', 'out/team.yaml']);
  assert.equal(based.code, 0, based.stderr);
  const team = parse(readFileSync(join(dir, 'out', 'team.yaml'), 'utf8'));
  assert.equal(team.extends, '../team-base.yaml');
  assert.deepEqual(team.spec.network.egress.allowedDNSSuffixes, ['.crates.io', '.evil.example', '.rustup.rs']);
  assert.equal((await km(['validate', 'out/team.yaml'])).code, 0);

  const diff = await km(['learn', 'generate', 'demo', '--diff', 'restricted-dev']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^allowedDNSSuffixes:\n  \+ \.crates\.io\n  \+ \.evil\.example\n  \+ \.rustup\.rs\n  - \.anthropic\.com\n  - \.github\.com\n  - \.githubusercontent\.com\n  - \.pypi\.org\n  - \.pythonhosted\.org\n  = \.npmjs\.org\n/m);
  const dj = JSON.parse((await km(['learn', 'generate', 'demo', '--diff', 'restricted-dev', '--json'])).stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(dj), ['allowed_dns_suffixes', 'allowed_hosts', 'allowed_repos', 'allowed_refs']);
  assert.deepEqual(dj.allowed_refs, { added: ['feature/x'], unused: ['develop', 'main'], kept: [] });

  const conflict = await km(['learn', 'generate', 'demo', '--diff', 'open-dev', '--base', 'open-dev']);
  assert.equal(conflict.code, 2);
  assert.match(conflict.stderr, /flag conflict: --diff compares with a whole profile/);
  const badSession = await km(['learn', 'generate', 'demo', '--session', 'ls-9']);
  assert.deepEqual([badSession.code, badSession.stderr], [2, 'km: error: demo has no learn session ls-9\n  hint: its sessions: ls-1\n']);
  const nobody = await km(['learn', 'start', 'nope']);
  assert.equal(nobody.code, 2);
  assert.match(nobody.stderr, /no sandbox matches "nope"/);

  assert.match((await km(['learn', 'start', 'demo'])).stdout, /learn session ls-2/);
  await km(['learn', 'stop', 'demo']);
  const empty = await km(['learn', 'generate', 'demo', '-o', 'empty.yaml']);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stderr, 'warning: nothing was observed in this session\nReview it, then: km validate empty.yaml\n');
  assert.equal((await km(['validate', 'empty.yaml'])).code, 0);
  assert.ok(existsSync(join(dir, 'empty.yaml')));
});
