/**
 * Local substrate against real namespaces: identity, capabilities, environment, files,
 * lifecycle (pause/resume/stop/destroy/adopt) and exec semantics. Runs as whoever runs the
 * suite; as root it finishes by running this same file again as a fresh non-root user.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalSubstrate, localSubstrateAvailability } from '../index.ts';
import type { SandboxHandleInfo, Substrate } from '../index.ts';
import { waitFor } from './proctree.ts';
import { freshUserSkip, runAsFreshUser, runIn, scratch, TEST_CA } from './test-helpers.ts';

const avail = localSubstrateAvailability();
const skip = avail.ok ? false : `local substrate unavailable: ${avail.reason}`;
const ID = 'lt-00000001';

describe('local substrate', { skip, concurrency: false }, () => {
  const s = scratch();
  let sub: Substrate;
  let info: SandboxHandleInfo;
  const run = (argv: string[], opts: Parameters<typeof runIn>[3] = {}) => runIn(sub, ID, argv, opts);
  const counterFile = () => join(info.stateDir, 'rootfs', 'tmp', 'counter');
  const rawCounter = (): string => {
    try {
      return readFileSync(counterFile(), 'utf8');
    } catch {
      return '';
    }
  };

  before(async () => {
    sub = createLocalSubstrate({ kmHome: s.kmHome });
    info = await sub.create(s.spec(ID, {
      configFiles: [
        { path: '/home/sandbox/.config/km/hello.txt', content: 'hello config\n' },
        { path: '/etc/km-profile.conf', content: 'system=1\n' },
      ],
    }));
  });
  after(async () => {
    await sub.destroy(ID).catch(() => undefined);
    s.cleanup();
  });

  test('create leaves it running with PID 1 known', () => {
    assert.equal(info.status, 'running');
    assert.ok(info.pid !== null && existsSync(`/proc/${info.pid}`));
  });

  test('the workload is uid 1000 sandbox with no capabilities and no_new_privs', async () => {
    assert.match((await run(['id'])).stdout, /^uid=1000\(sandbox\) gid=1000\(sandbox\)/);
    const st = (await run(['cat', '/proc/self/status'])).stdout;
    for (const f of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.match(st, new RegExp(`${f}:\\s+0{16}\\n`));
    assert.match(st, /NoNewPrivs:\s+1/);
  });

  test('root inside is uid 0 with only the file-ownership capabilities', async () => {
    assert.match((await run(['id'], { root: true })).stdout, /^uid=0\(root\) gid=0\(root\)/);
    const st = (await run(['cat', '/proc/self/status'], { root: true })).stdout;
    // CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) FSETID(4) KILL(5) SETGID(6) SETUID(7) = 0xfb
    assert.match(st, /CapEff:\s+00000000000000fb\n/);
    assert.match(st, /CapBnd:\s+00000000000000fb\n/);
  });

  test('root kmd: root inside and the sandbox user are different owners', { skip: process.getuid?.() === 0 ? false : 'one host id without root (see index.ts)' }, async () => {
    const denied = await run(['touch', '/etc/km-user-probe']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Permission denied/);
    assert.equal((await run(['sh', '-c', 'touch /etc/km-root-probe && stat -c %U /etc/km-root-probe'], { root: true })).stdout.trim(), 'root');
    assert.match((await run(['rm', '-f', '/etc/km-root-probe'])).stderr, /Permission denied/);
    assert.match((await run(['cat', '/proc/self/status'])).stdout, /CapBnd:\s+0{16}\n/);
  });

  test('hostname, working directory and home', async () => {
    assert.equal((await run(['hostname'])).stdout.trim(), ID);
    assert.equal((await run(['pwd'])).stdout.trim(), '/workspace');
    assert.equal((await run(['pwd'], { cwd: '/tmp' })).stdout.trim(), '/tmp');
    assert.equal((await run(['sh', '-c', 'echo $HOME; stat -c %U /workspace'])).stdout, '/home/sandbox\nsandbox\n');
  });

  test('environment: profile env, proxy and CA variables, CA bundle content', async () => {
    const env = Object.fromEntries((await run(['env'])).stdout.trim().split('\n').map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
    assert.equal(env.KM_TEST_VAR, 'from-profile');
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) assert.equal(env[k], 'http://127.0.0.1:3128');
    assert.equal(env.NO_PROXY, 'localhost,127.0.0.1,::1,km.internal');
    for (const k of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'AWS_CA_BUNDLE', 'GIT_SSL_CAINFO', 'CODEX_CA_CERTIFICATE']) {
      assert.equal(env[k], '/run/km-ca/bundle.pem', k);
    }
    assert.equal(env.NODE_EXTRA_CA_CERTS, '/run/km-ca/km-sandbox.crt');
    assert.equal((await run(['cat', '/run/km-ca/km-sandbox.crt'])).stdout, TEST_CA);
    const bundle = (await run(['cat', '/run/km-ca/bundle.pem'])).stdout;
    assert.ok(bundle.endsWith(TEST_CA) && bundle.length > TEST_CA.length * 10, 'bundle = system roots + CA');
    assert.equal((await run(['cat', '/etc/resolv.conf'])).stdout.split('\n')[0], 'nameserver 127.0.0.1');
    assert.match((await run(['getent', 'ahostsv4', 'km.internal'])).stdout, /^127\.0\.0\.2\s/);
  });

  test('configFiles are written with in-sandbox ownership', async () => {
    const r = await run(['stat', '-c', '%U %a', '/home/sandbox/.config/km/hello.txt']);
    assert.equal(r.stdout.trim(), 'sandbox 644');
    assert.equal((await run(['cat', '/home/sandbox/.config/km/hello.txt'])).stdout, 'hello config\n');
    assert.equal((await run(['cat', '/etc/km-profile.conf'])).stdout, 'system=1\n');
    assert.ok(!existsSync('/etc/km-profile.conf'), 'host /etc untouched');
  });

  test('exec exit codes: 0, 3, 127, 126, 128+9', async () => {
    assert.equal((await run(['true'])).code, 0);
    assert.equal((await run(['sh', '-c', 'exit 3'])).code, 3);
    assert.equal((await run(['no-such-command-km'])).code, 127);
    assert.equal((await run(['/etc/hostname'])).code, 126);
    assert.equal((await run(['sh', '-c', 'kill -9 $$'])).code, 137);
  });

  test('tty: the command gets a pty of the requested size inside the sandbox', async () => {
    const r = await run(['sh', '-c', 'tty; stty size; exit 4'], { tty: { cols: 120, rows: 40 } });
    assert.equal(r.code, 4);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r?\n40 120/);
  });

  test('stdin is streamed and kill() reaches the command', async () => {
    const big = 'x'.repeat(300_000);
    const r = await run(['sh', '-c', 'cat | wc -c'], { input: big });
    assert.equal(r.stdout.trim(), String(big.length));
    const h = await sub.exec(ID, ['sleep', '60']);
    await new Promise((res) => setTimeout(res, 200));
    h.kill('SIGTERM');
    assert.equal(await h.exit, 143);
  });

  test('pause freezes the tree and resume continues it', async () => {
    const loop = await sub.exec(ID, ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.05; done'], { stdio: 'ignore' });
    assert.ok(await waitFor(() => Number(rawCounter().trim() || 0) > 2, 5000), 'counter runs');
    await sub.pause(ID);
    assert.equal(await sub.status(ID), 'paused');
    await sub.pause(ID); // no-op
    // Raw text: the loop may be frozen between truncating and writing the file.
    const frozen = rawCounter();
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(rawCounter(), frozen, 'counter must not advance while paused');
    await assert.rejects(sub.exec(ID, ['true']), { code: 'invalid_state' });
    await sub.resume(ID);
    assert.equal(await sub.status(ID), 'running');
    const advanced = await waitFor(() => Number(rawCounter().trim() || 0) > Number(frozen.trim() || 0), 3000);
    assert.ok(advanced, 'counter advances after resume');
    loop.kill('SIGKILL');
    assert.equal(await loop.exit, 137);
  });

  test('files persist across stop/resume; host files untouched', async () => {
    await run(['sh', '-c', 'echo kept > /workspace/kept.txt']);
    await run(['sh', '-c', 'echo root-layer > /opt/km-layer-probe'], { root: true });
    assert.ok(!existsSync('/opt/km-layer-probe'), 'write stays in the layer');
    const sleeper = await sub.exec(ID, ['sh', '-c', 'touch /tmp/sleeper-up; exec sleep 300'], { stdio: 'ignore' });
    assert.ok(await waitFor(() => existsSync(join(info.stateDir, 'rootfs', 'tmp', 'sleeper-up')), 5000), 'sleeper started');
    const t0 = Date.now();
    await sub.stop(ID, { graceMs: 5000 });
    assert.ok(Date.now() - t0 < 4000, 'a TERM-able workload does not wait out the grace');
    assert.equal(await sleeper.exit, 143);
    assert.equal(await sub.status(ID), 'stopped');
    await sub.stop(ID, { graceMs: 0 }); // no-op
    await assert.rejects(sub.pause(ID), { code: 'invalid_state' });
    await sub.resume(ID);
    assert.equal(await sub.status(ID), 'running');
    assert.equal((await run(['cat', '/workspace/kept.txt'])).stdout, 'kept\n');
    assert.equal((await run(['cat', '/opt/km-layer-probe'])).stdout, 'root-layer\n');
  });

  test('a restarted daemon adopts the running tree', async () => {
    const fresh = createLocalSubstrate({ kmHome: s.kmHome });
    assert.equal(await fresh.status(ID), 'missing');
    const adopted = await fresh.adopt(ID, info.stateDir);
    assert.equal(adopted.status, 'running');
    assert.equal(adopted.pid, (await sub.adopt(ID, info.stateDir)).pid);
    assert.equal((await runIn(fresh, ID, ['cat', '/workspace/kept.txt'])).stdout, 'kept\n');
    await fresh.close();
  });

  test('destroy removes processes and the filesystem', async () => {
    const pid = (await sub.adopt(ID, info.stateDir)).pid as number;
    await sub.destroy(ID);
    assert.ok(!existsSync(info.stateDir), 'state dir removed');
    assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
    assert.equal(await sub.status(ID), 'missing');
  });
});

describe('local substrate as a non-root user', { skip: skip || freshUserSkip() }, () => {
  test('the suite above passes for a fresh unprivileged user', () => {
    const r = runAsFreshUser(new URL(import.meta.url));
    assert.equal(r.status, 0, `child suite failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.ok(Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1] ?? 0) >= 12, 'the child ran the lifecycle tests');
    assert.match(r.stdout, /# SKIP already unprivileged/, 'the child ran unprivileged');
  });
});
