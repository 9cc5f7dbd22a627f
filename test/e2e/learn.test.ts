/**
 * Learn mode end to end through bin/km (SPEC §7, seed "Learn Mode"): a workload in a real
 * `learn` sandbox reaches hosts under several registrable domains and pushes a branch to a
 * fake github.com; `km learn generate` writes a profile that validates; a FRESH sandbox
 * created from it runs the same workload, and anything else is denied.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { cannotRunSandboxes, lifecycleEnv, runKm, type Out } from './lifecycle-support.ts';
import { startFakeInternet } from './learn-support.ts';

const skip = cannotRunSandboxes();

/** bin/km with `input` on stdin (km shell reads its commands from there without a TTY). */
const kmWithInput = (args: string[], input: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Out> => runKm(args, env, cwd, input);

interface GenerateJson {
  file: string;
  session_id: string;
  profile: any;
  counts: Record<string, number>;
  suffix_map: Record<string, string[]>;
}

test('learn → generate → validate → a fresh sandbox from the result runs the workload, and only it', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const net = await startFakeInternet(e.dir);
  t.after(() => net.close());
  writeFileSync(join(e.dir, 'km-config.yaml'), net.config);

  const created = await e.km(['create', 'learn', '--alias', 'learn-1']);
  assert.equal(created.code, 0, created.stderr);
  const status0 = await e.json<{ recording: boolean; session_id: string }>(['learn', 'status', 'learn-1']);
  assert.deepEqual([status0.recording, status0.session_id], [true, 'ls-1'], 'a learnMode profile records from create');
  const again = await e.km(['learn', 'start', 'learn-1']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /^already recording since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(learn session ls-1 of learn-1\)\n$/);

  const run1 = await e.km(['exec', 'learn-1', '--', 'sh', '-c', net.workload]);
  assert.equal(run1.code, 0, run1.stdout + run1.stderr);
  assert.match(run1.stdout, /hello from api\.alpha-example\.com over https \/v1\/ping/);
  assert.match(run1.stdout, /^port 8080: 403$/m, 'learn allows 80/443 only; the denial is recorded');
  assert.match(run1.stdout, /workload-done\n$/);

  const stop = await e.km(['learn', 'stop', 'learn-1']);
  assert.equal(stop.stdout, 'Stopped learn session ls-1 of learn-1; generate the profile with km learn generate learn-1\n');
  const st = await e.json<{ recording: boolean; counts: { repos: number; refs: number; commands: number; denials: number } }>(['learn', 'status', 'learn-1']);
  assert.equal(st.recording, false);
  assert.ok(st.counts.repos === 1 && st.counts.refs === 1 && st.counts.commands >= 1 && st.counts.denials >= 1, JSON.stringify(st.counts));

  const gen = await e.km(['learn', 'generate', 'learn-1', '--json']);
  assert.equal(gen.code, 0, gen.stderr);
  const g = JSON.parse(gen.stdout) as GenerateJson;
  assert.equal(g.file, join(e.dir, 'observed-profile.yaml'));
  assert.match(gen.stderr, /Review it, then: km validate observed-profile\.yaml\n$/);
  const egress = g.profile.spec.network.egress;
  assert.deepEqual(egress.allowedDNSSuffixes, ['.alpha-example.com', '.beta-example.org', '.gamma-example.co.uk']);
  assert.deepEqual(egress.allowedHosts, ['cdn.beta-example.org:8080']);
  assert.deepEqual(g.profile.spec.sourceAccess.github.allowedRepos, ['acme/app']);
  assert.deepEqual(g.profile.spec.sourceAccess.github.allowedRefs, ['feature/learned']);
  assert.equal(g.profile.spec.network.enforcement, 'both', 'enforcement copied from the sandbox');
  assert.deepEqual(g.suffix_map['.gamma-example.co.uk'], ['x.gamma-example.co.uk']);
  const text = readFileSync(g.file, 'utf8');
  assert.match(text, /^# suffix \.beta-example\.org <- cdn\.beta-example\.org$/m);
  assert.match(text, /^# host cdn\.beta-example\.org:8080: non-default port$/m);
  assert.match(text, /^# refs pushed: feature\/learned$/m);
  assert.deepEqual(parse(text).metadata.labels, { 'klankermaker.ai/learned-from': g.profile.metadata.labels['klankermaker.ai/learned-from'] });

  const valid = await e.km(['validate', 'observed-profile.yaml']);
  assert.equal(valid.code, 0, valid.stdout + valid.stderr);

  // never overwritten silently
  const second = await e.km(['learn', 'generate', 'learn-1']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /observed-profile\.yaml exists; wrote observed-profile\.\d{8}-\d{6}\.yaml instead/);
  assert.match(second.stderr, /Review it, then: km validate observed-profile\.\d{8}-\d{6}\.yaml\n$/);
  assert.equal(readFileSync(g.file, 'utf8'), text);

  const diff = await e.json<Record<string, { added: string[]; unused: string[]; kept: string[] }>>(['learn', 'generate', 'learn-1', '--diff', 'observed-profile.yaml']);
  assert.deepEqual(diff.allowed_dns_suffixes, { added: [], unused: [], kept: ['.alpha-example.com', '.beta-example.org', '.gamma-example.co.uk'] });

  const fresh = await e.km(['create', 'observed-profile.yaml', '--alias', 'tight']);
  assert.equal(fresh.code, 0, fresh.stderr);
  const run2 = await e.km(['exec', 'tight', '--', 'sh', '-c', net.workload]);
  assert.equal(run2.code, 0, run2.stdout + run2.stderr);
  assert.match(run2.stdout, /^port 8080: 200$/m);
  assert.match(run2.stdout, /workload-done\n$/);

  const denied = await e.km(['exec', 'tight', '--', 'curl', '-sS', '-w', '\n%{http_code}', 'http://other.delta-example.net/']);
  const [body, code] = denied.stdout.split('\n').filter((l) => l !== '');
  assert.equal(code, '403', denied.stdout + denied.stderr);
  const deny = JSON.parse(body!) as Record<string, unknown>;
  assert.deepEqual([deny.error, deny.host, deny.rule], ['host_not_allowed', 'other.delta-example.net', 'default-deny']);
  const repo = await e.km(['exec', 'tight', '--', 'git', 'clone', '-q', 'https://github.com/acme/secret.git', '/tmp/secret']);
  assert.notEqual(repo.code, 0);
  assert.match(repo.stderr, /repository acme\/secret is not allowed/);

  // km shell --learn on the restrictive sandbox: records while the shell is open (denials
  // included) and generates on exit.
  const shell = await kmWithInput(['shell', '--learn', 'tight', '-o', 'from-shell.yaml'], [
    'export CURL_CA_BUNDLE=/tmp/trust.pem', // written by the workload run above
    'curl -fsS https://api.alpha-example.com/again',
    'curl -sS -o /dev/null -w "%{http_code}\\n" http://other.delta-example.net/',
    'exit 3',
    '',
  ].join('\n'), e.env, e.dir);
  assert.equal(shell.code, 3, shell.stderr);
  assert.match(shell.stdout, /hello from api\.alpha-example\.com over https \/again\n403\n/);
  assert.match(shell.stderr, /^Recording learn session ls-1 of tight; the profile is generated when the shell exits\n/);
  assert.match(shell.stderr, /Review it, then: km validate from-shell\.yaml\n$/);
  const learned = parse(readFileSync(join(e.dir, 'from-shell.yaml'), 'utf8'));
  assert.deepEqual(learned.spec.network.egress.allowedDNSSuffixes, ['.alpha-example.com', '.delta-example.net']);
  assert.match(readFileSync(join(e.dir, 'from-shell.yaml'), 'utf8'), /^# denied during the session: other\.delta-example\.net$/m);
  assert.equal((await e.json<{ recording: boolean }>(['learn', 'status', 'tight'])).recording, false);
});
