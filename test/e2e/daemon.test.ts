/** `km daemon`, `km info` and `km doctor` through the real CLI (bin/km). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { runKm } from './lifecycle-support.ts';

const KM = resolve(import.meta.dirname, '../../bin/km');

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function km(home: string, args: string[]): Promise<Out> {
  return runKm(args, { ...process.env, KM_HOME: home, NO_COLOR: '1' }, home.replace(/\/home$/, ''));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function setup(t: TestContext): Promise<{ home: string; track: (pid: number) => void }> {
  const root = await mkdtemp(join(tmpdir(), 'km-e2e-daemon-'));
  const pids = new Set<number>();
  t.after(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  });
  return { home: join(root, 'home'), track: (pid) => pids.add(pid) };
}

const json = <T>(o: Out): T => JSON.parse(o.stdout) as T;
interface Status {
  running: boolean;
  pid: number | null;
  version: string | null;
  socket: string;
  uptime_s: number | null;
}

test('daemon start/status/stop, kill -9 recovery, concurrent starts', async (t) => {
  const { home, track } = await setup(t);
  const before = await km(home, ['daemon', 'status', '--json']);
  assert.equal(before.code, 0);
  assert.deepEqual(json<Status>(before), { running: false, pid: null, version: null, socket: join(home, 'kmd.sock'), uptime_s: null, started_at: null });

  const starts = await Promise.all([1, 2, 3].map(() => km(home, ['daemon', 'start', '--json'])));
  const pids = starts.map((o) => json<Status>(o).pid as number);
  pids.forEach(track);
  assert.deepEqual(starts.map((o) => o.code), [0, 0, 0]);
  assert.equal(new Set(pids).size, 1, `one kmd for three concurrent starts: ${pids}`);
  const pid = pids[0] as number;
  assert.equal(statSync(join(home, 'kmd.sock')).mode & 0o777, 0o600);

  const status = json<Status>(await km(home, ['daemon', 'status', '--json']));
  assert.equal(status.running, true);
  assert.equal(status.pid, pid);

  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(10);
  const human = await km(home, ['daemon', 'status']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /kmd is not running/);
  const restarted = await km(home, ['daemon', 'start', '--json']);
  const newPid = json<Status>(restarted).pid as number;
  track(newPid);
  assert.notEqual(newPid, pid);
  assert.match(restarted.stdout, /"started": true/);

  const stop = await km(home, ['daemon', 'stop']);
  assert.equal(stop.code, 0);
  assert.match(stop.stdout, new RegExp(`kmd stopped \\(pid ${newPid}\\)`));
  assert.match(stop.stderr, /egress fails closed/);
  assert.equal(existsSync(join(home, 'kmd.sock')), false);
  assert.equal(existsSync(join(home, 'kmd.pid')), false);
  const again = await km(home, ['daemon', 'stop']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /not running/);
  assert.doesNotMatch(again.stderr, /fails closed/);
});

test('daemon start --foreground runs until SIGTERM and cleans up', async (t) => {
  const { home } = await setup(t);
  const child = spawn(KM, ['daemon', 'start', '--foreground'], { env: { ...process.env, KM_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let status: Status | undefined;
  for (let i = 0; i < 100; i++) {
    status = json<Status>(await km(home, ['daemon', 'status', '--json']));
    if (status.running) break;
    await sleep(50);
  }
  assert.equal(status?.running, true);
  assert.ok(child.pid !== undefined);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(existsSync(join(home, 'kmd.sock')), false);
});

test('info --json has the documented shape and does not start kmd', async (t) => {
  const { home } = await setup(t);
  const out = await km(home, ['info', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const info = json<Record<string, unknown>>(out);
  assert.deepEqual(Object.keys(info).sort(), ['aws', 'config', 'config_files', 'daemon', 'email_domain', 'state_dir', 'store', 'substrates', 'version']);
  assert.equal(info.version, JSON.parse((await km(home, ['--version', '--json'])).stdout).version);
  assert.deepEqual(info.config_files, []);
  assert.equal(info.state_dir, home);
  assert.deepEqual(info.store, { kind: 'sqlite', location: join(home, 'km.db') });
  assert.deepEqual(info.daemon, { running: false, pid: null, version: null, socket: join(home, 'kmd.sock'), uptime_s: null });
  assert.equal(info.aws, null);
  const subs = info.substrates as Record<string, { available: boolean; reason: string | null }>;
  assert.deepEqual(Object.keys(subs).sort(), ['docker', 'ec2', 'ecs', 'local']);
  for (const s of Object.values(subs)) assert.equal(typeof s.available, 'boolean');
  assert.equal(subs.ec2?.available, false);
  assert.equal(existsSync(join(home, 'kmd.sock')), false);
});

test('doctor --json: named checks, exit 1 iff a check fails; --fix repairs a crashed kmd', async (t) => {
  const { home, track } = await setup(t);
  const out = await km(home, ['doctor', '--json']);
  const report = json<{ ok: boolean; checks: Array<{ name: string; status: string; message: string; hint: string | null }>; fixes: unknown[] }>(out);
  const failed = report.checks.filter((c) => c.status === 'fail');
  assert.equal(out.code, failed.length > 0 ? 1 : 0, JSON.stringify(failed));
  assert.equal(report.ok, failed.length === 0);
  for (const name of ['node', 'config', 'state-dir', 'store', 'daemon', 'user-namespaces', 'bubblewrap', 'cgroups', 'disk-space']) {
    assert.ok(report.checks.some((c) => c.name === name), `missing ${name}`);
  }
  for (const c of report.checks) assert.ok(['pass', 'warn', 'fail', 'skip'].includes(c.status));

  const start = json<Status>(await km(home, ['daemon', 'start', '--json']));
  track(start.pid as number);
  process.kill(start.pid as number, 'SIGKILL');
  for (let i = 0; i < 100 && alive(start.pid as number); i++) await sleep(10);
  const fixed = await km(home, ['doctor', '--fix', '--json']);
  const fr = json<{ checks: Array<{ name: string; status: string }>; fixes: Array<{ check: string; ok: boolean; message: string }> }>(fixed);
  assert.equal(fr.fixes.length, 1);
  assert.equal(fr.fixes[0]?.check, 'daemon');
  assert.equal(fr.fixes[0]?.ok, true);
  assert.match(fr.fixes[0]?.message ?? '', /kmd\.sock/);
  assert.equal(fr.checks.find((c) => c.name === 'daemon')?.status, 'pass');
  assert.equal(existsSync(join(home, 'kmd.sock')), false);

  const quiet = await km(home, ['doctor', '--quiet']);
  assert.doesNotMatch(quiet.stdout, /✓ pass/);
  assert.match(quiet.stdout, /\d+ checks: \d+ pass/);
});

test('info and doctor read the operator config; an invalid one fails the config check', async (t) => {
  const { home } = await setup(t);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config.yaml'), 'domain: example.com\nemail_subdomain: boxes\nslack:\n  bot_token: xoxb-secret-token-123\n');
  const out = await km(home, ['info', '--json']);
  const info = json<{ config_files: string[]; email_domain: string | null; config: { slack: { bot_token: string } } }>(out);
  assert.deepEqual(info.config_files, [join(home, 'config.yaml')]);
  assert.equal(info.email_domain, 'boxes.example.com');
  assert.equal(info.config.slack.bot_token, '********');
  const human = await km(home, ['info']);
  for (const o of [out, human]) assert.doesNotMatch(o.stdout + o.stderr, /xoxb-secret/);
  assert.match(human.stdout, /email domain boxes\.example\.com/);

  writeFileSync(join(home, 'config.yaml'), 'no_such_key: 1\n');
  const bad = await km(home, ['doctor', '--json']);
  assert.equal(bad.code, 1);
  const check = json<{ checks: Array<{ name: string; status: string; message: string }> }>(bad).checks.find((c) => c.name === 'config');
  assert.equal(check?.status, 'fail');
  assert.match(check?.message ?? '', /no_such_key/);
  const infoBad = await km(home, ['info', '--json']);
  assert.equal(infoBad.code, 2);
  assert.equal((JSON.parse(infoBad.stderr) as { error: { code: string } }).error.code, 'config_invalid');
});
