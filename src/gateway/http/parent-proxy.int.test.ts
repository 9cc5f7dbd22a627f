import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { curl, startGateway, startOrigins, testPolicy, waitForEvent, type Origins, type TestGateway } from './test-fixtures.ts';
import { bypassesParent, parseParentProxy } from './parent-proxy.ts';

let o: Origins;
let parent: TestGateway;
let child: TestGateway;

before(async () => {
  o = await startOrigins(['api.example.test', 'meter.example.test']);
  // The parent is another gateway: it knows the fake names and records what passes through.
  parent = await startGateway(
    testPolicy({ 'plain.example.test': {}, 'api.example.test': {}, 'meter.example.test': {} }),
    {
      'plain.example.test': `127.0.0.1:${o.httpPort}`,
      'api.example.test': `127.0.0.1:${o.httpsPort}`,
      'meter.example.test': `127.0.0.1:${o.httpsPort}`,
      'bypass.example.test': '127.0.0.1:1',
    },
    undefined,
  );
  child = await startChild();
});
function startChild(): Promise<TestGateway> {
  const base = testPolicy({ 'plain.example.test': {}, 'api.example.test': {}, 'meter.example.test': { intercept: 'ai_metering' }, 'refused.example.test': {}, 'bypass.example.test': {} });
  return startGateway(
    { ...base, isDestinationAllowed: (name) => ({ allow: name === 'bypass.example.test' }) },
    {},
    o.testCa.certPem,
    {},
    {
      resolve: async (name) => (name === 'bypass.example.test' ? ['127.0.0.1'] : Promise.reject(new Error(`resolved ${name} itself`))),
      upstream: { proxy: parent.proxyUrl, proxyBypass: ['bypass.example.test'] },
    },
  );
}

after(async () => {
  await child.close();
  await parent.close();
  await o.close();
});

test('parent proxy URL and bypass list parsing', () => {
  const p = parseParentProxy('http://user:p%40ss@proxy.corp.example:3128', ['.corp.example', 'localhost', '*.internal.example']);
  assert.equal(p.host, 'proxy.corp.example');
  assert.equal(p.port, 3128);
  assert.equal(p.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  assert.equal(bypassesParent(p, 'git.corp.example'), true);
  assert.equal(bypassesParent(p, 'corp.example'), true);
  assert.equal(bypassesParent(p, 'evilcorp.example'), false);
  assert.equal(bypassesParent(p, 'a.internal.example'), true);
  assert.equal(bypassesParent(p, 'api.example.test'), false);
  assert.throws(() => parseParentProxy('https://proxy:3128'), /must be an http:\/\/ URL/);
});

test('plain HTTP, tunnels and intercepted requests all leave through the parent proxy', async () => {
  const plain = await curl(['-x', child.proxyUrl, 'http://plain.example.test/p1']);
  assert.equal(JSON.parse(plain.stdout).path, '/p1', plain.stderr);
  const upstreamCa = `${child.dir}/up.pem`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(upstreamCa, o.testCa.certPem);
  const tunnel = await curl(['-x', child.proxyUrl, '--cacert', upstreamCa, 'https://api.example.test/p2']);
  assert.equal(JSON.parse(tunnel.stdout).path, '/p2', tunnel.stderr);
  const meter = await curl(['-x', child.proxyUrl, '--cacert', child.caFile, 'https://meter.example.test/p3', 'https://meter.example.test/p4']);
  assert.match(meter.stdout, /"path":"\/p3".*"path":"\/p4"/s, meter.stderr);
  // Tunnels are recorded when they end; the child's pooled upstream connections end with it.
  await child.close();
  for (const [host, port] of [['plain.example.test', 80], ['api.example.test', 443], ['meter.example.test', 443]] as const) {
    const e = await waitForEvent(parent.events, (e) => e.event_type === 'http.connect' && e.detail.host === host);
    assert.equal(e.detail.port, port);
  }
  assert.equal(parent.events.filter((e) => e.detail.host === 'meter.example.test').length, 1, 'upstream connection pooled');
  child = await startChild();
});

test('parent refusing the CONNECT → 502 upstream_unreachable naming the answer', async () => {
  const r = await curl(['-v', '-x', child.proxyUrl, 'http://refused.example.test/']);
  assert.match(r.stderr, /< HTTP\/1\.1 502/);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error, 'upstream_unreachable');
  assert.match(body.hint, /parent proxy answered 403 to CONNECT refused\.example\.test:80/);
});

test('bypassed names are resolved and dialled directly (never via the parent)', async () => {
  const r = await curl(['-v', '-x', child.proxyUrl, 'http://bypass.example.test/']);
  assert.match(r.stderr, /< HTTP\/1\.1 502/);
  assert.match(JSON.parse(r.stdout).hint, /ECONNREFUSED.*127\.0\.0\.1:80/);
  assert.equal(parent.events.some((e) => e.detail.host === 'bypass.example.test'), false);
});
