/** The server and client in one process over a real unix socket (no kmd process). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { createDaemonClient } from './client.ts';
import { reply } from './router.ts';
import { createDaemon, type DaemonDeps } from './server.ts';
import type { DaemonService } from './service.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'km-daemon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

async function start(t: TestContext, deps: Partial<DaemonDeps> = {}) {
  const stateDir = await tempDir(t);
  const d = await createDaemon({ clock: systemClock, version: '1.2.3', ...deps }, { stateDir, closeGraceMs: 200 });
  t.after(() => d.close());
  return { d, stateDir, client: createDaemonClient(d.socketPath, { timeoutMs: 2000 }) };
}

const echoService: DaemonService = {
  name: 'echo',
  start({ router }) {
    router.add('POST', '/v1/echo/:word', (req) => reply(201, { word: req.params.word, body: req.body, q: req.query.get('q') }));
    router.add('GET', '/v1/locked/:id', (req) => {
      throw new KmError('sandbox_locked', `${req.params.id} is locked`, { hint: `km unlock ${req.params.id}`, details: { id: req.params.id } });
    });
    router.add('GET', '/v1/crash', () => {
      throw new Error('boom');
    });
    router.add('GET', '/v1/slow', (req) => new Promise((resolve) => req.signal.addEventListener('abort', () => resolve(null))));
  },
};

test('health, version, socket 0600 in a 0700 state dir, pid file', async (t) => {
  const { d, stateDir, client } = await start(t);
  const h = await client.health();
  assert.equal(h.ok, true);
  assert.equal(h.version, '1.2.3');
  assert.equal(h.pid, process.pid);
  assert.match(h.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(await client.request('GET', '/v1/version'), { version: '1.2.3', api: 'v1' });
  assert.equal((await stat(d.socketPath)).mode & 0o777, 0o600);
  assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
  assert.equal((await stat(d.pidFile)).isFile(), true);
});

test('service routes: params, query, JSON body and status', async (t) => {
  const { client } = await start(t, { services: [echoService] });
  const out = await client.request('POST', '/v1/echo/hello?q=1', { a: [1, 2] });
  assert.deepEqual(out, { word: 'hello', body: { a: [1, 2] }, q: '1' });
});

test('daemon errors come back as the same KmError; crashes are internal', async (t) => {
  const { client } = await start(t, { services: [echoService] });
  await assert.rejects(client.request('GET', '/v1/locked/demo'), (e: unknown) => {
    assert.ok(e instanceof KmError);
    assert.equal(e.code, 'sandbox_locked');
    assert.equal(e.message, 'demo is locked');
    assert.equal(e.hint, 'km unlock demo');
    assert.deepEqual(e.details, { id: 'demo' });
    return true;
  });
  await assert.rejects(client.request('GET', '/v1/crash'), (e: unknown) => e instanceof KmError && e.code === 'internal' && e.message === 'boom');
  await assert.rejects(client.request('GET', '/v1/none'), (e: unknown) => e instanceof KmError && e.code === 'not_found');
});

test('invalid JSON body is a usage error', async (t) => {
  const { d } = await start(t, { services: [echoService] });
  const res = await fetchUnix(d.socketPath, 'POST', '/v1/echo/x', '{nope');
  assert.equal(res.status, 400);
  assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'usage');
});

test('client: timeout, missing socket and non-kmd listener are clear errors', async (t) => {
  const { client, stateDir } = await start(t, { services: [echoService] });
  await assert.rejects(client.request('GET', '/v1/slow', undefined, { timeoutMs: 150 }), (e: unknown) => e instanceof KmError && e.code === 'timeout' && /150 ms/.test(e.message));
  const missing = createDaemonClient(join(stateDir, 'nope.sock'), { logPath: '/x/kmd.log' });
  await assert.rejects(missing.health(), (e: unknown) => e instanceof KmError && e.code === 'daemon_unavailable' && /not running/.test(e.message) && /\/x\/kmd\.log/.test(e.hint ?? ''));
  const rawPath = join(stateDir, 'raw.sock');
  const raw = createServer((s) => s.end('HTTP/1.1 500 Oops\r\ncontent-length: 4\r\nconnection: close\r\n\r\noops'));
  await new Promise<void>((r) => raw.listen(rawPath, r));
  t.after(() => raw.close());
  await assert.rejects(createDaemonClient(rawPath).health(), (e: unknown) => e instanceof KmError && e.code === 'internal' && /HTTP 500/.test(e.message));
});

test('services start in order, close in reverse; a failed start closes the started ones', async (t) => {
  const events: string[] = [];
  const svc = (name: string, failStart = false): DaemonService => ({
    name,
    start() {
      if (failStart) throw new Error(`${name} failed`);
      events.push(`start ${name}`);
      return { close: async () => void events.push(`close ${name}`) };
    },
  });
  const { d } = await start(t, { services: [svc('a'), svc('b'), svc('c')] });
  await d.close();
  assert.deepEqual(events, ['start a', 'start b', 'start c', 'close c', 'close b', 'close a']);
  events.length = 0;
  const stateDir = await tempDir(t);
  await assert.rejects(createDaemon({ clock: systemClock, version: '1', services: [svc('a'), svc('b'), svc('x', true)] }, { stateDir }), /x failed/);
  assert.deepEqual(events, ['start a', 'start b', 'close b', 'close a']);
  // The failed start released everything: a new daemon can start in the same directory.
  const again = await createDaemon({ clock: systemClock, version: '1' }, { stateDir });
  await again.close();
});

test('one daemon per state directory; close removes socket and pid file; shutdown route closes', async (t) => {
  const { d, stateDir, client } = await start(t);
  await assert.rejects(createDaemon({ clock: systemClock, version: '1' }, { stateDir }), (e: unknown) => e instanceof KmError && e.code === 'invalid_state' && /already running/.test(e.message));
  assert.deepEqual(await client.request('POST', '/v1/shutdown'), { ok: true, pid: process.pid });
  await d.closed;
  await assert.rejects(stat(d.socketPath), { code: 'ENOENT' });
  await assert.rejects(stat(d.pidFile), { code: 'ENOENT' });
  await assert.rejects(client.health(), (e: unknown) => e instanceof KmError && e.code === 'daemon_unavailable');
});

async function fetchUnix(socketPath: string, method: string, path: string, body: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
