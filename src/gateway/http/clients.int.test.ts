import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { startGateway, startOrigins, testPolicy, waitForEvent, type Origins, type TestGateway } from './test-fixtures.ts';

let o: Origins;
let g: TestGateway;

before(async () => {
  o = await startOrigins(['meter.example.test']);
  g = await startGateway(
    testPolicy({ 'meter.example.test': { intercept: 'ai_metering' }, 'plain.example.test': {} }),
    { 'meter.example.test': `127.0.0.1:${o.httpsPort}`, 'plain.example.test': `127.0.0.1:${o.httpPort}` },
    o.testCa.certPem,
  );
});
after(async () => {
  await g.close();
  await o.close();
});

function connectTunnel(target: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: g.port, method: 'CONNECT', path: target });
    req.on('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`))));
    req.on('error', reject);
    req.end();
  });
}

test('plain HTTP inside a CONNECT tunnel is parsed: each request must name the target', async () => {
  const raw = await connectTunnel('plain.example.test:80');
  const read = (): Promise<string> =>
    new Promise((resolve) => {
      let out = '';
      const onData = (d: Buffer): void => {
        out += d.toString('latin1');
        const m = /content-length: (\d+)/i.exec(out);
        const end = out.indexOf('\r\n\r\n');
        const complete = end > 0 && (m ? out.length >= end + 4 + Number(m[1]) : out.endsWith('\r\n0\r\n\r\n'));
        if (complete) {
          raw.off('data', onData);
          resolve(out);
        }
      };
      raw.on('data', onData);
    });
  raw.write('GET /in-tunnel HTTP/1.1\r\nHost: plain.example.test\r\nContent-Length: 0\r\n\r\n');
  const ok = await read();
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.match(ok, /"path":"\/in-tunnel"/);
  raw.write('GET /other HTTP/1.1\r\nHost: evil.example.org\r\n\r\n');
  const no = await read();
  assert.match(no, /^HTTP\/1\.1 403 /);
  assert.match(no, /"error":"host_mismatch"/);
  raw.destroy();
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/in-tunnel');
  assert.equal(e.detail.intercepted, false);
  assert.equal(e.detail.port, 80);
});

test("Node's own fetch with NODE_USE_ENV_PROXY and NODE_EXTRA_CA_CERTS (how Node agents run)", async () => {
  const { execFile } = await import('node:child_process');
  const script = `
    const a = await (await fetch('https://meter.example.test/node-fetch', { method: 'POST', body: 'hi' })).json();
    const b = await (await fetch('http://plain.example.test/node-fetch-plain')).json();
    console.log(JSON.stringify([a.path, a.body_length, b.path]));`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: g.proxyUrl, HTTP_PROXY: g.proxyUrl, NODE_EXTRA_CA_CERTS: g.caFile },
    }, (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout)));
  });
  assert.deepEqual(JSON.parse(out), ['/node-fetch', 2, '/node-fetch-plain']);
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/node-fetch');
  assert.equal(e.detail.intercepted, true);
});
