import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { curl, startGateway, startOrigins, testPolicy, waitForEvent, type Origins, type TestGateway } from './test-fixtures.ts';

let o: Origins;
let g: TestGateway;
let upstreamCa: string;

before(async () => {
  o = await startOrigins(['api.example.test', 'meter.example.test']);
  g = await startGateway(
    testPolicy({ 'api.example.test': {}, 'meter.example.test': { intercept: 'ai_metering' }, 'plain.example.test': {} }),
    {
      'api.example.test': `127.0.0.1:${o.httpsPort}`,
      'meter.example.test': `127.0.0.1:${o.httpsPort}`,
      'plain.example.test': `127.0.0.1:${o.httpPort}`,
    },
    o.testCa.certPem,
    { mode: 'transparent' },
    { originalDestination: () => ({ ip: '198.18.0.7', port: 443 }) },
  );
  upstreamCa = join(g.dir, 'upstream-ca.pem');
  await writeFile(upstreamCa, o.testCa.certPem);
});
after(async () => {
  await g.close();
  await o.close();
});

/** curl as a program that ignores proxy variables: the name "resolves" to the gateway. */
const captured = (url: string, port: number, ...args: string[]) => curl(['-v', '--connect-to', `::127.0.0.1:${g.port}`, ...args, url.replace('PORT', String(port))]);

test('captured TLS, allowed, not intercepted: decided on SNI and tunnelled to the origin', async () => {
  const r = await captured('https://api.example.test/t', 443, '--cacert', upstreamCa);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).path, '/t');
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'api.example.test');
  assert.equal(e.detail.decision, 'allow');
  assert.equal(e.detail.transparent, true);
  assert.equal(e.detail.original_ip, '198.18.0.7');
  assert.equal(e.detail.ip_mismatch, false, 'overrides are operator input');
});

test('captured TLS, intercepted host: sandbox leaf, inner request metered by name', async () => {
  const r = await captured('https://meter.example.test/v1/x', 443, '--cacert', g.caFile);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /issuer: CN=km sandbox sb-test0001/);
  assert.equal(JSON.parse(r.stdout).host, 'meter.example.test');
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/v1/x');
  assert.equal(e.detail.intercepted, true);
  assert.equal(e.detail.intercept_reason, 'ai_metering');
});

test('captured TLS to a denied host: completed with a sandbox leaf, 403 delivered over HTTPS', async () => {
  const r = await captured('https://evil.example.org/steal', 443, '--cacert', g.caFile);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /< HTTP\/1\.1 403/);
  assert.match(r.stderr, /< x-km-deny-reason: host_not_allowed/);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error, 'host_not_allowed');
  assert.equal(body.host, 'evil.example.org');
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'evil.example.org');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.sni, 'evil.example.org');
});

test('captured TLS without SNI: no_sni denial', async () => {
  const r = await curl(['-v', '-k', `https://127.0.0.1:${g.port}/`]);
  assert.match(r.stderr, /< HTTP\/1\.1 403/);
  assert.equal(JSON.parse(r.stdout).error, 'no_sni');
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.error === 'no_sni');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.original_ip, '198.18.0.7');
});

test('captured plain HTTP: decided on Host', async () => {
  const ok = await captured('http://plain.example.test/h?x=1', 80);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).path, '/h?x=1');
  const no = await captured('http://evil.example.org/', 80);
  assert.match(no.stderr, /< HTTP\/1\.1 403/);
  assert.equal(JSON.parse(no.stdout).error, 'host_not_allowed');
});

test('the transparent listener still serves proxy clients', async () => {
  const r = await curl(['-x', g.proxyUrl, 'http://plain.example.test/p']);
  assert.equal(JSON.parse(r.stdout).path, '/p');
  const t = await curl(['-x', g.proxyUrl, '--cacert', g.caFile, 'https://meter.example.test/q']);
  assert.equal(JSON.parse(t.stdout).path, '/q');
});

test('forward mode refuses origin-form requests (not a transparent listener)', async () => {
  const f = await startGateway(testPolicy({ 'plain.example.test': {} }), { 'plain.example.test': `127.0.0.1:${o.httpPort}` }, undefined);
  try {
    const r = await curl(['-v', '--connect-to', `::127.0.0.1:${f.port}`, 'http://plain.example.test/']);
    assert.match(r.stderr, /< HTTP\/1\.1 400/);
    assert.equal(JSON.parse(r.stdout).error, 'bad_request');
  } finally {
    await f.close();
  }
});

test('unix socket listener: forward proxy and captured HTTP', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'km-gw-sock-'));
  const path = join(dir, 'proxy.sock');
  const u = await startGateway(testPolicy({ 'plain.example.test': {} }), { 'plain.example.test': `127.0.0.1:${o.httpPort}` }, undefined, { listen: { path }, mode: 'transparent' });
  try {
    assert.deepEqual(u.gw.address, { path });
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ socketPath: path, path: 'http://plain.example.test/via-unix', headers: { host: 'plain.example.test' } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(JSON.parse(body).path, '/via-unix');
    const r = await curl(['--unix-socket', path, 'http://plain.example.test/captured']);
    assert.equal(JSON.parse(r.stdout).path, '/captured');
    // a second gateway on a live socket is refused; a stale socket file (killed daemon) is replaced
    await assert.rejects(startGateway(testPolicy({}), {}, undefined, { listen: { path } }), /another process is serving/);
    const stale = join(dir, 'stale.sock');
    const { spawnSync } = await import('node:child_process');
    const killed = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.equal(killed.signal, 'SIGKILL');
    const { existsSync } = await import('node:fs');
    assert.ok(existsSync(stale), 'the killed listener left its socket file behind');
    const v = await startGateway(testPolicy({}), {}, undefined, { listen: { path: stale } });
    assert.deepEqual(v.gw.address, { path: stale });
    await v.close();
  } finally {
    await u.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('captured TLS whose original destination is not among our answers is flagged ip_mismatch', async () => {
  const m = await startGateway(
    testPolicy({ 'meter.example.test': { intercept: 'ai_metering' } }),
    {},
    undefined,
    { mode: 'transparent' },
    { resolve: async () => ['10.77.0.1'], originalDestination: () => ({ ip: '10.66.0.1', port: 443 }) },
  );
  try {
    const { connect } = await import('node:tls');
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: m.port, servername: 'meter.example.test', ca: m.ca.certPem }, () => {
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
    const e = await waitForEvent(m.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'meter.example.test');
    assert.equal(e.detail.original_ip, '10.66.0.1');
    assert.equal(e.detail.ip_mismatch, true);
    assert.equal(e.detail.decision, 'allow');
  } finally {
    await m.close();
  }
});
