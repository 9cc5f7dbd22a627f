import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import fc from 'fast-check';
import { curl, startGateway, startOrigins, testPolicy, type Origins, type TestGateway } from './test-fixtures.ts';

let o: Origins;
let g: TestGateway;

before(async () => {
  o = await startOrigins(['api.example.test', 'meter.example.test']);
  g = await startGateway(
    testPolicy({ 'plain.example.test': {}, 'api.example.test': {}, 'meter.example.test': { intercept: 'ai_metering' } }),
    {
      'plain.example.test': `127.0.0.1:${o.httpPort}`,
      'api.example.test': `127.0.0.1:${o.httpsPort}`,
      'meter.example.test': `127.0.0.1:${o.httpsPort}`,
    },
    o.testCa.certPem,
    { mode: 'transparent', headersTimeoutMs: 400, checkIntervalMs: 50, idleTimeoutMs: 1500, keepAliveTimeoutMs: 1000 },
  );
});
after(async () => {
  await g.close();
  await o.close();
});

function openRaw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(g.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function collect(s: Socket): Promise<{ text: string; closedAfterMs: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve({ text, closedAfterMs: Date.now() - t0 }));
  });
}

const plainOk = async (): Promise<void> => {
  const r = await curl(['-x', g.proxyUrl, 'http://plain.example.test/still-ok']);
  assert.equal(JSON.parse(r.stdout).path, '/still-ok', r.stderr);
};

test('slowloris: headers trickling in are cut off with 408, others are served meanwhile', async () => {
  const s = await openRaw();
  const done = collect(s);
  s.write('GET http://plain.example.test/ HTTP/1.1\r\n');
  const drip = setInterval(() => s.writable && s.write('X-A: b\r\n'), 100);
  await plainOk();
  const { text, closedAfterMs } = await done;
  clearInterval(drip);
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.ok(closedAfterMs < 1400, `closed after ${closedAfterMs} ms`);
});

test('silent connection (no first byte) and idle tunnel are closed', async () => {
  const s = await openRaw();
  const { closedAfterMs } = await collect(s);
  assert.ok(closedAfterMs >= 300 && closedAfterMs < 1400, `silent closed after ${closedAfterMs} ms`);
  const t = await openRaw();
  const tunnelDone = collect(t);
  t.write('CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n\r\n');
  const { text, closedAfterMs: idleMs } = await tunnelDone;
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.ok(idleMs >= 1400 && idleMs < 3500, `idle tunnel closed after ${idleMs} ms`);
});

test('fuzz: random bytes and malformed requests never crash or wedge the gateway', async () => {
  const lines = [
    'GET http://plain.example.test/ HTTP/1.1\r\nHost: plain.example.test\r\n\r\n',
    'CONNECT api.example.test:443 HTTP/1.1\r\n\r\n',
    'CONNECT :::: HTTP/1.1\r\n\r\n',
    'CONNECT api.example.test HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: \r\n\r\n',
    'GET http://[::1 HTTP/1.1\r\n\r\n',
    'POST http://plain.example.test/ HTTP/1.1\r\nContent-Length: 99\r\n\r\nshort',
    'GET http://plain.example.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    '\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00',
    '\x16\x03\x01\xff\xff',
  ];
  const piece = fc.oneof(fc.constantFrom(...lines), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')));
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 4 }), fc.boolean(), async (parts, endEarly) => {
      const s = await openRaw();
      const done = collect(s);
      for (const p of parts) s.write(Buffer.from(p, 'latin1'));
      if (endEarly) s.end();
      setTimeout(() => s.destroy(), 150);
      await done;
    }),
    { numRuns: 120, seed: 20270303 },
  );
  await plainOk();
  const t = await curl(['-x', g.proxyUrl, '--cacert', g.caFile, 'https://meter.example.test/after-fuzz']);
  assert.equal(JSON.parse(t.stdout).path, '/after-fuzz');
});

test('client aborts mid-response and mid-upload do not disturb other clients', async () => {
  for (let i = 0; i < 5; i++) {
    const s = await openRaw();
    s.write('GET http://plain.example.test/big HTTP/1.1\r\nHost: plain.example.test\r\n\r\n');
    await new Promise((r) => s.once('data', r));
    s.destroy();
    const u = await openRaw();
    u.write('POST http://plain.example.test/up HTTP/1.1\r\nHost: plain.example.test\r\nContent-Length: 1000000\r\n\r\npartial');
    u.on('error', () => {});
    setTimeout(() => u.destroy(), 20);
  }
  await plainOk();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(g.gw.stats().connections <= 2, `leaked sockets: ${g.gw.stats().connections}`);
});

test('a throwing policy callback or hook fails that request only', async () => {
  const base = testPolicy({ 'plain.example.test': {}, 'meter.example.test': { intercept: 'ai_metering' } });
  const b = await startGateway(
    { ...base, decideHost: (r) => (r.host === 'boom.example.test' ? (() => { throw new Error('policy bug'); })() : base.decideHost(r)) },
    { 'plain.example.test': `127.0.0.1:${o.httpPort}`, 'meter.example.test': `127.0.0.1:${o.httpsPort}` },
    o.testCa.certPem,
    {},
    { hooks: { exchange: (info) => { if (info.path === '/throw') throw new Error('hook bug'); return undefined; } } },
  );
  try {
    const boom = await curl(['-x', b.proxyUrl, 'http://boom.example.test/']);
    assert.notEqual(boom.code, 0);
    const boomConnect = await curl(['-x', b.proxyUrl, 'https://boom.example.test/']);
    assert.notEqual(boomConnect.code, 0);
    const hook = await curl(['-x', b.proxyUrl, '--cacert', b.caFile, 'https://meter.example.test/throw']);
    assert.notEqual(hook.code, 0);
    assert.ok(b.gw.stats().errors >= 3);
    const ok = await curl(['-x', b.proxyUrl, '--cacert', b.caFile, 'https://meter.example.test/fine']);
    assert.equal(JSON.parse(ok.stdout).path, '/fine');
  } finally {
    await b.close();
  }
});
