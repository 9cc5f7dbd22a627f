/**
 * The native client (native/km-client.c, built here) against a kmd in this process with the
 * exec and CLI hosts over a real unix socket. The substrate is a stand-in whose plan runs the
 * command under a host `sh` (which forks it, as nsenter does), so the client's launcher, relay,
 * signals and exit codes are exercised without namespaces; the fallback is a stand-in bin/km
 * that reports how it was called. test/e2e/km-client.test.ts runs the real thing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildTable } from '../cli/table.ts';
import { systemClock } from '../core/clock.ts';
import { nativeHelper } from '../native/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import type { ExecOptions, Substrate } from '../substrate/index.ts';
import { createCliHost, type CliRunner } from './cli-host.ts';
import { createDaemonClient } from './client.ts';
import { createExecHost } from './exec-host.ts';
import { createDaemon } from './server.ts';
import type { DaemonService } from './service.ts';

const built = nativeHelper('km-client');
const skip = 'reason' in built ? built.reason : false;
const CLIENT = 'path' in built ? built.path : '';
const SECRET = 'hunter2-literal-xyz';

/** A plan like the local substrate's: the launcher forks the command (signals go to depth 0). */
const standIn = {
  name: 'local',
  async adopt() {
    return {};
  },
  async execPlan(_id: string, argv: string[], o: Omit<ExecOptions, 'stdio'> = {}) {
    const env: Record<string, string> = { PATH: '/usr/bin:/bin', ROOT: o.root ? '1' : '0', WORKDIR: o.cwd ?? '-', ...(o.env ?? {}) };
    return { argv: ['/bin/sh', '-c', '"$@"; exit $?', 'launcher', ...argv], env, signalDepth: 0 };
  },
} as unknown as Substrate;

interface Rig {
  dir: string;
  store: Store;
  sandboxId: string;
  socket: string;
  run(args: string[], opts?: { stdin?: Buffer; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>;
  start(args: string[]): ReturnType<typeof spawn>;
}

async function rig(t: TestContext, runner: CliRunner = async () => 0): Promise<Rig> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'km-fastpath-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  mkdirSync(join(dir, 'inst', 'bin'), { recursive: true });
  mkdirSync(stateDir, { mode: 0o700 });
  const binKm = join(dir, 'inst', 'bin', 'km');
  writeFileSync(binKm, '#!/bin/sh\nprintf "fallback KM_CLIENT=%s:" "$KM_CLIENT"; printf " %s" "$@"; echo; exit 42\n');
  chmodSync(binKm, 0o755);
  writeFileSync(join(stateDir, 'config.yaml'), `audit:\n  redact_literals: ["${SECRET}"]\n`);
  const store = await openSqliteStore(join(stateDir, 'km.db'), { clock: systemClock });
  const sb = await store.insertSandbox({
    id: 'sb-0000feed', alias: 'demo', profileName: 'sealed', profile: {}, substrate: 'local', status: 'running',
    createdAtMs: Date.now() - 60_000, teardownPolicy: 'destroy', enforcementRequested: 'proxy', createdBy: 'cli',
  });
  const self = { stateDir, installRoot: `${dir}/inst/`, uid: process.getuid?.() ?? -1, staleVersion: () => null };
  const shutdown = new AbortController();
  let exec: ReturnType<typeof createExecHost> | undefined;
  const service: DaemonService = {
    name: 'fast-path-test',
    start(ctx) {
      exec = createExecHost({ self, storePath: join(stateDir, 'km.db'), store, substrate: standIn, clock: ctx.clock, log: ctx.log, table: buildTable, signal: shutdown.signal });
      const cli = createCliHost({ self, clock: ctx.clock, log: ctx.log, table: buildTable, runner: async () => runner });
      ctx.router.upgrade('/v1/exec', exec.session);
      ctx.router.upgrade('/v1/cli', cli.session);
    },
  };
  const d = await createDaemon({ clock: systemClock, version: 't', services: [service] }, { stateDir, closeGraceMs: 200 });
  t.after(async () => {
    shutdown.abort();
    await d.close();
    await exec?.close();
    await store.close();
  });
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: dir, KM_HOME: stateDir, KM_CLIENT: 'debug' };
  const start = (args: string[], extra: NodeJS.ProcessEnv = {}) => spawn(CLIENT, [binKm, ...args], { cwd: dir, env: { ...env, ...extra }, stdio: ['pipe', 'pipe', 'pipe'] });
  return {
    dir, store, sandboxId: sb.id, socket: d.socketPath, start,
    run(args, opts = {}) {
      return new Promise((done) => {
        const c = start(args, opts.env);
        const out: Buffer[] = [];
        let stderr = '';
        c.stdout?.on('data', (b: Buffer) => out.push(b));
        c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
        c.stdin?.on('error', () => undefined);
        c.stdin?.end(opts.stdin ?? '');
        c.on('close', (code, signal) => done({ code, signal, stdout: Buffer.concat(out), stderr }));
      });
    },
  };
}

const commands = async (r: Rig) => (await r.store.queryEvents({ sandboxId: r.sandboxId, types: ['command'] })).map((e) => e.detail);
const until = async (f: () => Promise<boolean> | boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('exec: exit codes, stdout and stderr apart, binary stdin, flags into the plan, redacted command events', { skip }, async (t) => {
  const r = await rig(t);
  const cases: Array<[string, number]> = [['exit 0', 0], ['exit 3', 3], ['no-such-command-here', 127], ['/etc/passwd', 126], ['kill -9 $$', 137]];
  for (const [script, code] of cases) {
    const o = await r.run(['exec', 'demo', '--', 'sh', '-c', script]);
    assert.equal(o.code, code, `${script}: ${o.stderr}`);
    assert.doesNotMatch(o.stderr, /running the Node CLI/);
  }
  const split = await r.run(['exec', 'demo', '--', 'sh', '-c', 'echo out; echo err >&2']);
  assert.deepEqual([split.stdout.toString(), split.stderr], ['out\n', 'err\n']);
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 255;
  const cat = await r.run(['exec', '1', '--', 'cat'], { stdin: big });
  assert.equal(cat.code, 0);
  assert.ok(cat.stdout.equals(big), `3 MiB through stdin and back (got ${cat.stdout.length} bytes)`);
  const flags = await r.run(['exec', 'demo', '--root', '--env', 'A=1', '--env=B=x=y', '--workdir', '/tmp', '-t', '--', 'sh', '-c', 'echo "$ROOT $A $B $WORKDIR"']);
  assert.equal(flags.code, 0, flags.stderr);
  assert.match(flags.stdout.toString(), /1 1 x=y \/tmp/, 'root, env and workdir reach the plan (under script(1) for -t)');
  assert.equal((await r.run(['exec', 'demo', '--', 'echo', SECRET])).stdout.toString(), `${SECRET}\n`);
  const events = await commands(r);
  assert.deepEqual(events.slice(0, 2).map((d) => [d.argv, d.exit_code, d.root]), [[['sh', '-c', 'exit 0'], 0, false], [['sh', '-c', 'exit 3'], 3, false]]);
  assert.equal(events.length, cases.length + 4);
  assert.ok(events.every((d) => typeof d.duration_ms === 'number'));
  const last = events[events.length - 1] as { argv: string[] };
  assert.deepEqual(last.argv[0], 'echo');
  assert.ok(!JSON.stringify(events).includes(SECRET), 'the redaction literal of the config is never stored');
  assert.ok(((await r.store.getSandbox(r.sandboxId))?.lastActivityAtMs ?? 0) > Date.now() - 10_000, 'activity for the idle clock');
});

test('exec: SIGTERM goes to the command; after it exited, a signal ends the wait for output a job holds', { skip }, async (t) => {
  const r = await rig(t);
  const pidFile = join(r.dir, 'job.pid');
  t.after(() => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* gone already */
    }
  });
  const trapped = r.start(['exec', 'demo', '--', 'sh', '-c', 'sleep 30 >/dev/null 2>&1 & trap "kill $!; echo got-term; exit 9" TERM; echo up; wait']);
  let said = '';
  trapped.stdout?.on('data', (b: Buffer) => (said += b.toString()));
  const trappedDone = new Promise<number | null>((res) => trapped.on('close', res));
  await until(() => said.includes('up'));
  trapped.kill('SIGTERM');
  assert.equal(await trappedDone, 9, 'the command (not the launcher) got SIGTERM');
  assert.match(said, /got-term/);

  const left = r.start(['exec', 'demo', '--', 'sh', '-c', `sleep 60 & echo $! > ${pidFile}; echo started; exit 4`]);
  let out = '';
  left.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const closed = new Promise<number | null>((res) => left.on('close', res));
  await until(() => out.includes('started'));
  const early = await Promise.race([closed.then(() => 'closed'), new Promise((res) => setTimeout(() => res('waiting'), 700))]);
  assert.equal(early, 'waiting', 'the job holds stdout open');
  left.kill('SIGTERM');
  assert.equal(await closed, 4, "the command's exit code");
});

test('exec: a client killed mid-run still leaves a command event, exit code unknown', { skip }, async (t) => {
  const r = await rig(t);
  // $PPID is the launcher, which leads its own process group (and outlives the client).
  const c = r.start(['exec', 'demo', '--', 'sh', '-c', 'echo "up $PPID"; sleep 30']);
  let said = '';
  c.stdout?.on('data', (b: Buffer) => (said += b.toString()));
  await until(() => /up \d+\n/.test(said));
  const launcher = Number(/up (\d+)/.exec(said)?.[1]);
  t.after(() => {
    try {
      process.kill(-launcher, 'SIGKILL');
    } catch {
      /* gone already */
    }
  });
  c.kill('SIGKILL');
  await until(async () => (await commands(r)).length === 1).catch(async (e) => {
    throw new Error(`${e}: ${JSON.stringify(await commands(r))}`);
  });
  const [d] = await commands(r);
  assert.deepEqual([d?.argv, d?.exit_code], [['sh', '-c', 'echo "up $PPID"; sleep 30'], null]);
});

test('exec falls back to bin/km (KM_CLIENT=0, same argv) before anything runs when kmd refuses or cannot serve', { skip }, async (t) => {
  const r = await rig(t);
  const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
    [['exec', 'nope', '--', 'true'], /not_found/],
    [['exec', 'demo', '--env', '1=2', '--', 'true'], /usage/],
    [['exec', 'demo', '--bogus', '--', 'true'], /does not know/],
    [['exec', 'demo', '--json', '--', 'true'], /global flag/],
    [['exec', 'demo', '--help'], /global flag/],
    [['exec', 'demo'], /no command/],
    [['exec', 'demo', 'extra', '--', 'true'], /exactly one/],
    [['exec', 'demo', '--', 'true'], /another state directory|not running/, { KM_HOME: join(r.dir, 'elsewhere') }],
    [['exec', 'demo', '--', 'true'], /relative/, { KM_HOME: 'state' }],
  ];
  for (const [args, why, env] of cases) {
    const o = await r.run(args, env ? { env } : {});
    assert.equal(o.code, 42, `${args.join(' ')}: ${o.stderr}`);
    assert.equal(o.stdout.toString(), `fallback KM_CLIENT=0: ${args.join(' ')}\n`);
    assert.match(o.stderr, why);
  }
  assert.deepEqual(await commands(r), [], 'nothing ran, nothing recorded');
});

test('hosted: the runner gets argv, env, cwd and the terminals; frames become the exact bytes and exit code', { skip }, async (t) => {
  const seen: Array<{ argv: readonly string[]; mark: string | undefined; cwd: string; tty: unknown }> = [];
  const r = await rig(t, async (argv, deps) => {
    seen.push({ argv, mark: deps.env.MARK, cwd: deps.cwd, tty: [deps.io.stdin.isTTY, deps.io.stdout.isTTY, deps.io.stderr.isTTY] });
    deps.io.stdout.write(Buffer.from([0, 1, 2, 255]));
    deps.io.stdout.write('x'.repeat(200_000));
    deps.io.stderr.write('ünï\n');
    return 5;
  });
  const o = await r.run(['list', '--wide'], { env: { MARK: 'm1' } });
  assert.equal(o.code, 5, o.stderr);
  assert.ok(o.stdout.equals(Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from('x'.repeat(200_000))])));
  assert.equal(o.stderr, 'ünï\n');
  assert.deepEqual(seen, [{ argv: ['list', '--wide'], mark: 'm1', cwd: r.dir, tty: [undefined, undefined, undefined] }]);
  const stdin = await r.run(['create', 'learn', '--prompt-file', '-']);
  assert.deepEqual([stdin.code, stdin.stdout.toString()], [42, 'fallback KM_CLIENT=0: create learn --prompt-file -\n']);
  assert.match(stdin.stderr, /reads stdin/);
  assert.equal(seen.length, 1, 'a refused command never reached the runner');
});

test('hosted: a command that throws, or writes after its client is gone, does not hurt kmd', { skip }, async (t) => {
  let late: Promise<void> = Promise.resolve();
  const r = await rig(t, async (argv, deps) => {
    if (argv.includes('boom')) throw new Error('boom');
    if (argv.includes('late')) {
      late = new Promise((res) => setTimeout(res, 300)).then(() => void deps.io.stdout.write('too late\n'));
      await late;
      return 0;
    }
    deps.io.stdout.write('fine\n');
    return 0;
  });
  const boom = await r.run(['status', 'boom']);
  assert.equal(boom.code, 1);
  assert.match(boom.stderr, /^km: error: this is a bug: boom\n/);
  const gone = r.start(['status', 'late']);
  await new Promise((res) => setTimeout(res, 100));
  gone.kill('SIGKILL');
  await late;
  const client = createDaemonClient(r.socket, { timeoutMs: 2000 });
  assert.equal((await client.health()).ok, true);
  const after = await r.run(['list']);
  assert.deepEqual([after.code, after.stdout.toString()], [0, 'fine\n']);
});
