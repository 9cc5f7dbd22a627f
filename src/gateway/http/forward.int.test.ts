import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { BIG, curl, sha256, startGateway, startOrigins, testPolicy, waitForEvent, type Origins, type TestGateway } from './test-fixtures.ts';

let o: Origins;
let g: TestGateway;

before(async () => {
  o = await startOrigins(['api.example.test']);
  g = await startGateway(
    testPolicy({
      'plain.example.test': {},
      'secure.example.test': { httpsOnly: true },
      'paths.example.test': { paths: ['/v1/'] },
      'loop.example.test': {},
      'down.example.test': {},
      '127.0.0.1': {},
    }),
    {
      'plain.example.test': `127.0.0.1:${o.httpPort}`,
      'secure.example.test': `127.0.0.1:${o.httpPort}`,
      'paths.example.test': `127.0.0.1:${o.httpPort}`,
      'down.example.test': '127.0.0.1:1',
    },
    undefined,
    {},
    { resolve: async (n) => (n === 'loop.example.test' ? ['127.0.0.1'] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))) },
  );
});
after(async () => {
  await g.close();
  await o.close();
});

function parseHead(stderr: string): { status: number; headers: Record<string, string> } {
  const lines = stderr.split('\n').filter((l) => l.startsWith('< '));
  const status = Number(/^< HTTP\/1\.1 (\d+)/.exec(lines[0] ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const m = /^< ([^:]+): (.*)\r?$/.exec(l);
    if (m) headers[m[1]!.toLowerCase()] = m[2]!.trim();
  }
  return { status, headers };
}

test('absolute-form GET is forwarded with headers intact and Proxy-Authorization consumed', async () => {
  const r = await curl(['-x', g.proxyUrl, '-U', 'run-42:x', '-H', 'X-Custom: yes', 'http://plain.example.test/hello?q=1']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.path, '/hello?q=1');
  assert.equal(body.host, 'plain.example.test');
  assert.equal(body.headers['x-custom'], 'yes');
  assert.equal(body.headers['proxy-authorization'], undefined);
  assert.equal(body.headers['proxy-connection'], undefined);
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/hello');
  assert.deepEqual(
    { ...e.detail, duration_ms: 0, bytes_down: 0 },
    { host: 'plain.example.test', port: 80, method: 'GET', path: '/hello', status: 200, rule: 'allowedHosts["plain.example.test"]', decision: 'allow', intercepted: false, intercept_reason: null, run_id: 'run-42', bytes_up: 0, bytes_down: 0, duration_ms: 0 },
  );
  assert.ok((e.detail.bytes_down as number) > 100);
  assert.equal(e.sandbox_id, 'sb-test0001');
  assert.equal(e.source, 'gateway');
});

const denials: Array<[string, string[], number, string, Record<string, unknown>]> = [
  ['host_not_allowed', ['http://pkg.example.org/x'], 403, 'default-deny', {
    host: 'pkg.example.org', port: 80,
    hint: 'add "pkg.example.org" to spec.network.egress.allowedHosts or ".example.org" to allowedDNSSuffixes in a new profile; check with: km policy explain sb-test0001 pkg.example.org',
  }],
  ['port_not_allowed', ['http://plain.example.test:8080/x'], 403, 'allowedHosts["plain.example.test"]', { host: 'plain.example.test', port: 8080 }],
  ['ip_literal_not_allowed', ['http://10.9.9.9/x'], 403, 'default-deny', { host: '10.9.9.9', port: 80 }],
  ['https_required', ['http://secure.example.test/x'], 403, 'httpsOnly', { host: 'secure.example.test', port: 80 }],
  ['host_mismatch', ['-H', 'Host: evil.example.test', 'http://plain.example.test/x'], 403, 'host-header', { host: 'plain.example.test', port: 80 }],
  ['path_not_allowed', ['http://paths.example.test/admin'], 403, 'pathRules["paths.example.test"]', { host: 'paths.example.test', port: 80 }],
  ['destination_not_allowed', ['http://loop.example.test/x'], 403, 'allowedHosts["loop.example.test"]', { host: 'loop.example.test', port: 80 }],
  ['upstream_unreachable', ['http://down.example.test/x'], 502, 'allowedHosts["down.example.test"]', { host: 'down.example.test', port: 80 }],
];

for (const [error, args, status, rule, fields] of denials) {
  test(`denial ${error}: status ${status}, envelope headers and exact body`, async () => {
    const r = await curl(['-v', '-x', g.proxyUrl, ...args]);
    const head = parseHead(r.stderr);
    assert.equal(head.status, status, r.stderr);
    assert.equal(head.headers['content-type'], 'application/json');
    assert.equal(head.headers['x-km-deny-reason'], error);
    assert.equal(head.headers['x-km-rule'], rule);
    const body = JSON.parse(r.stdout);
    assert.equal(body.error, error);
    assert.equal(body.rule, rule);
    assert.equal(body.sandbox, 'sb-test0001');
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(body[k], v, k);
    if (error === 'host_not_allowed') assert.deepEqual(Object.keys(body), ['error', 'host', 'port', 'rule', 'sandbox', 'hint']);
    else assert.equal(typeof body.hint, 'string');
    const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.error === error);
    assert.equal(e.detail.decision, status >= 500 ? 'error' : 'deny');
    assert.equal(e.detail.status, status);
  });
}

test('denied requests record an http.request deny event with the rule', async () => {
  await curl(['-x', g.proxyUrl, 'http://denied-event.example.org/secret?token=abc']);
  const e = await waitForEvent(g.events, (e) => e.detail.host === 'denied-event.example.org');
  assert.equal(e.event_type, 'http.request');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.status, 403);
  assert.equal(e.detail.rule, 'default-deny');
  assert.equal(e.detail.path, '/secret');
});

test('a second Host header cannot smuggle another name upstream', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: g.port, path: 'http://plain.example.test/dup', setHost: false, headers: ['Host', 'plain.example.test', 'Host', 'evil.example.org'] },
      (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(JSON.parse(text).host_headers, ['plain.example.test']);
});

test('keep-alive: two requests reuse one client connection', async () => {
  const r = await curl(['-v', '-x', g.proxyUrl, 'http://plain.example.test/a', 'http://plain.example.test/b']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Re-using existing connection/);
  assert.equal((r.stdout.match(/"method":"GET"/g) ?? []).length, 2);
  const ports = [...r.stdout.matchAll(/"remote_port":(\d+)/g)].map((m) => m[1]);
  assert.equal(ports[0], ports[1], 'upstream connection is pooled too');
});

test('streaming: the first chunk arrives before the last is sent', async () => {
  const { firstAt, body } = await new Promise<{ firstAt: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: g.port, path: 'http://plain.example.test/stream', headers: { host: 'plain.example.test' } }, (res) => {
      let first = 0;
      let text = '';
      res.on('data', (d) => {
        first ||= Date.now();
        text += d;
      });
      res.on('end', () => resolve({ firstAt: first, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
  const lastSentAt = Number(/last-sent-at (\d+)/.exec(body)?.[1]);
  assert.match(body, /^chunk-0\nchunk-1\nchunk-2\n/);
  assert.ok(firstAt < lastSentAt, `first chunk at ${firstAt}, last sent at ${lastSentAt}`);
});

test('1.5 MB upload and download are byte-exact', async () => {
  const file = `${g.dir}/big.bin`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, BIG);
  const up = await curl(['-x', g.proxyUrl, '--data-binary', `@${file}`, 'http://plain.example.test/upload']);
  assert.equal(JSON.parse(up.stdout).body_sha256, sha256(BIG));
  const down = await curl(['-x', g.proxyUrl, 'http://plain.example.test/big']);
  assert.equal(sha256(Buffer.from(down.stdout, 'latin1')), sha256(BIG));
});

test('WebSocket upgrade passes through the forward proxy', async () => {
  const sock = netConnect(g.port, '127.0.0.1');
  sock.write('GET http://plain.example.test/ws HTTP/1.1\r\nHost: plain.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let got = '';
  await new Promise<void>((resolve, reject) => {
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n') && !got.includes('ping-123')) sock.write('ping-123');
      if (got.includes('ping-123')) resolve();
    });
    sock.on('error', reject);
  });
  sock.destroy();
  assert.match(got, /^HTTP\/1\.1 101 /);
  assert.match(got, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
});

test('an upgrade the origin refuses is relayed as a plain response', async () => {
  const sock = netConnect(g.port, '127.0.0.1');
  sock.write('GET http://plain.example.test/no-ws HTTP/1.1\r\nHost: plain.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const got = await new Promise<string>((resolve) => {
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
  });
  assert.match(got, /^HTTP\/1\.1 400 /);
  assert.doesNotMatch(got, /transfer-encoding/i);
  assert.equal(got.slice(got.indexOf('\r\n\r\n') + 4), 'nope!');
});

test('431 on headers over 64 KiB, 400 on garbage, gateway keeps serving', async () => {
  const big = await curl(['-v', '-x', g.proxyUrl, '-H', `X-Big: ${'a'.repeat(70_000)}`, 'http://plain.example.test/x']);
  assert.equal(parseHead(big.stderr).status, 431);
  const garbage = await new Promise<string>((resolve) => {
    const s = netConnect(g.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write('\x01\x02 nonsense \r\n\r\n');
  });
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  assert.match(garbage, /"error":"bad_request"/);
  const ok = await curl(['-x', g.proxyUrl, 'http://plain.example.test/after']);
  assert.equal(JSON.parse(ok.stdout).path, '/after');
});
