/** kmd as a real process: on-demand start, crash recovery, one starter, version restart, stop. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { stateFiles } from '../config/paths.ts';
import { systemClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { KM_VERSION } from '../cli/version.ts';
import { isKmdProcess, processAlive } from './files.ts';
import { daemonStatus, ensureDaemon, stopDaemon } from './lifecycle.ts';
import { createDaemon } from './server.ts';
import { KMD_NODE_FLAGS } from './spawn.ts';

interface Home {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  files: ReturnType<typeof stateFiles>;
  track(pid: number): void;
}

async function home(t: TestContext): Promise<Home> {
  const root = await mkdtemp(join(tmpdir(), 'km-kmd-'));
  const stateDir = join(root, 'home');
  const pids = new Set<number>();
  t.after(async () => {
    // Also whatever kmd the pid file names, in case a failed assertion left one we never saw.
    const listed = existsSync(join(stateDir, 'kmd.pid')) ? Number(readFileSync(join(stateDir, 'kmd.pid'), 'utf8')) : 0;
    if (listed > 0 && isKmdProcess(listed)) pids.add(listed);
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  });
  return { stateDir, env: { ...process.env, KM_HOME: stateDir }, files: stateFiles(stateDir), track: (pid) => pids.add(pid) };
}

async function waitDead(pid: number): Promise<void> {
  for (let i = 0; i < 200 && processAlive(pid); i++) await sleep(10);
  assert.equal(processAlive(pid), false, `pid ${pid} still alive`);
}

test('starts kmd on demand: health, socket 0600, state dir 0700, pid file, detached kmd process', async (t) => {
  const h = await home(t);
  const d = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(d.health.pid);
  assert.equal(d.started, true);
  assert.equal(d.health.version, KM_VERSION);
  assert.notEqual(d.health.pid, process.pid);
  assert.equal(isKmdProcess(d.health.pid), true);
  assert.equal(statSync(h.files.socket).mode & 0o777, 0o600);
  assert.equal(statSync(h.stateDir).mode & 0o777, 0o700);
  assert.equal(readFileSync(h.files.pidFile, 'utf8').trim(), String(d.health.pid));
  const again = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  assert.equal(again.started, false);
  assert.equal(again.health.pid, d.health.pid);
  // Own session: kmd is not in our process group, so a terminal's Ctrl-C does not reach it.
  const stat = readFileSync(`/proc/${d.health.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  assert.equal(Number(stat[2]), d.health.pid, 'kmd leads its own process group');
  assert.equal(Number(stat[3]), d.health.pid, 'kmd leads its own session');
  const argv = readFileSync(`/proc/${d.health.pid}/cmdline`, 'utf8').split('\0');
  assert.deepEqual(argv.slice(1, 1 + KMD_NODE_FLAGS.length), [...KMD_NODE_FLAGS], 'kmd runs with its Node flags');
});

test('kill -9 leaves a stale socket and pid file; the next call recovers', async (t) => {
  const h = await home(t);
  const first = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(first.health.pid);
  process.kill(first.health.pid, 'SIGKILL');
  await waitDead(first.health.pid);
  assert.equal(existsSync(h.files.socket), true, 'socket left behind');
  assert.equal(existsSync(h.files.pidFile), true, 'pid file left behind');
  assert.equal((await daemonStatus({ env: h.env, stateDir: h.stateDir })).running, false);
  const second = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(second.health.pid);
  assert.equal(second.started, true);
  assert.notEqual(second.health.pid, first.health.pid);
  assert.equal(readFileSync(h.files.pidFile, 'utf8').trim(), String(second.health.pid));
});

test('concurrent ensureDaemon calls start exactly one kmd', async (t) => {
  const h = await home(t);
  const results = await Promise.all(Array.from({ length: 4 }, () => ensureDaemon({ env: h.env, stateDir: h.stateDir })));
  for (const r of results) h.track(r.health.pid);
  assert.equal(new Set(results.map((r) => r.health.pid)).size, 1);
  assert.equal(results.filter((r) => r.started).length, 1);
});

test('a daemon of another version is shut down and replaced', async (t) => {
  const h = await home(t);
  const old = await createDaemon({ clock: systemClock, version: '0.0.0-old' }, { stateDir: h.stateDir });
  t.after(() => old.close());
  const d = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(d.health.pid);
  assert.equal(d.restarted, true);
  assert.equal(d.health.version, KM_VERSION);
  assert.notEqual(d.health.pid, process.pid);
  await old.closed; // the old daemon received POST /v1/shutdown
});

test('stop: graceful, removes socket and pid file, idempotent; status exits either way', async (t) => {
  const h = await home(t);
  const d = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(d.health.pid);
  const s = await daemonStatus({ env: h.env, stateDir: h.stateDir });
  assert.deepEqual({ running: s.running, pid: s.pid, version: s.version }, { running: true, pid: d.health.pid, version: KM_VERSION });
  const stopped = await stopDaemon({ env: h.env, stateDir: h.stateDir });
  assert.deepEqual({ was_running: stopped.was_running, pid: stopped.pid, method: stopped.method }, { was_running: true, pid: d.health.pid, method: 'shutdown' });
  await waitDead(d.health.pid);
  assert.equal(existsSync(h.files.socket), false);
  assert.equal(existsSync(h.files.pidFile), false);
  const again = await stopDaemon({ env: h.env, stateDir: h.stateDir });
  assert.deepEqual(again, { was_running: false, pid: null, method: null, removed: [] });
});

test('SIGTERM closes kmd gracefully (socket and pid file removed)', async (t) => {
  const h = await home(t);
  const d = await ensureDaemon({ env: h.env, stateDir: h.stateDir });
  h.track(d.health.pid);
  process.kill(d.health.pid, 'SIGTERM');
  await waitDead(d.health.pid);
  assert.equal(existsSync(h.files.socket), false);
  assert.equal(existsSync(h.files.pidFile), false);
  assert.match(readFileSync(h.files.daemonLog, 'utf8'), /"message":"kmd stopped"/);
});

test('a kmd that dies while starting gives daemon_unavailable naming the log', async (t) => {
  const h = await home(t);
  const spawnDead = () => ({ pid: 999_999, exitCode: () => 3, kill: () => {} });
  await assert.rejects(ensureDaemon({ env: h.env, stateDir: h.stateDir, spawn: spawnDead, timeoutMs: 1000 }), (e: unknown) => {
    assert.ok(e instanceof KmError);
    assert.equal(e.code, 'daemon_unavailable');
    assert.match(e.message, /exited with code 3/);
    assert.ok(e.hint?.includes(h.files.daemonLog));
    return true;
  });
  let killed = false;
  const spawnSilent = () => ({ pid: 999_999, exitCode: () => null, kill: () => void (killed = true) });
  await assert.rejects(ensureDaemon({ env: h.env, stateDir: h.stateDir, spawn: spawnSilent, timeoutMs: 300 }), /did not become healthy within 300 ms and was stopped/);
  assert.equal(killed, true, 'the unhealthy kmd is not left running');
});

test('a hung kmd (holds its lock, never answers, ignores SIGTERM) is killed and replaced', async (t) => {
  const h = await home(t);
  const { spawn } = await import('node:child_process');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(h.stateDir, { recursive: true, mode: 0o700 });
  const fixture = new URL('./testdata/hung/kmd.ts', import.meta.url).pathname;
  const hung = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', fixture], { env: h.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const hungPid = hung.pid as number;
  h.track(hungPid);
  await new Promise<void>((resolve, reject) => {
    hung.stdout.once('data', () => resolve());
    hung.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  assert.equal(isKmdProcess(hungPid), true);
  const exitSignal = new Promise<NodeJS.Signals | null>((resolve) => hung.once('exit', (_code, signal) => resolve(signal)));
  const d = await ensureDaemon({ env: h.env, stateDir: h.stateDir, timeoutMs: 20_000 });
  h.track(d.health.pid);
  assert.equal(d.started, true);
  assert.notEqual(d.health.pid, hungPid);
  assert.equal(await exitSignal, 'SIGKILL');
});
