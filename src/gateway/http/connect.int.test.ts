import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { createServer as createNetServer, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { Transform, Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { BIG, curl, sha256, startGateway, startOrigins, testPolicy, waitForEvent, type Origins, type TestGateway } from './test-fixtures.ts';
import type { ExchangeInfo, GithubRequest } from './types.ts';

let o: Origins;
let g: TestGateway;
let silent: NetServer;
const exchanges: ExchangeInfo[] = [];
const tapped: number[] = [];
const githubSeen: Array<{ path: string; body: string }> = [];
const seenResponses: Array<{ status: number; origin: string }> = [];

before(async () => {
  o = await startOrigins(['api.example.test', 'meter.example.test', 'github.com', 'paths.example.test', 'h2.example.test']);
  silent = createNetServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as AddressInfo).port;
  const tls = `127.0.0.1:${o.httpsPort}`;
  g = await startGateway(
    testPolicy({
      'api.example.test': {},
      'h2.example.test': {},
      'meter.example.test': { intercept: 'ai_metering' },
      'github.com': { intercept: 'source_access' },
      'paths.example.test': { intercept: 'path_rules', paths: ['/v1/'] },
      'badname.example.test': { intercept: 'ai_metering' },
      'slow.example.test': { intercept: 'ai_metering' },
      'plain.example.test': {},
    }),
    {
      'api.example.test': tls,
      'meter.example.test': tls,
      'github.com': tls,
      'paths.example.test': tls,
      'badname.example.test': tls,
      'h2.example.test': `127.0.0.1:${o.h2Port}`,
      'slow.example.test': `127.0.0.1:${silentPort}`,
      'plain.example.test': `127.0.0.1:${o.httpPort}`,
    },
    o.testCa.certPem,
    { upstreamTimeoutMs: 800 },
    {
      hooks: {
        exchange: async (info) => {
          exchanges.push(info);
          if (info.path === '/budget') {
            const body = Buffer.from('{"error":"ai_budget_exhausted"}');
            return { deny: { status: 403, headers: { 'content-type': 'application/json', 'X-Km-Deny-Reason': 'ai_budget_exhausted', 'X-Km-Rule': 'budget.ai.maxSpendUSD' }, body } };
          }
          if (info.path === '/rewrite') {
            return {
              rewriteRequestBody: (b: Buffer) => (b.length < 100 ? Buffer.from(b.toString().toUpperCase()) : undefined),
              response: ({ status, headers }) => {
                seenResponses.push({ status, origin: String(headers['x-origin']) });
                return undefined;
              },
            };
          }
          let n = 0;
          const response = new Transform({
            transform(chunk: Buffer, _e, cb) {
              n += chunk.length;
              cb(null, chunk);
            },
            flush(cb) {
              tapped.push(n);
              cb();
            },
          });
          return { response };
        },
        github: {
          isGithubHost: (h) => h === 'github.com',
          check: async (req: GithubRequest) => {
            const chunks: Buffer[] = [];
            for await (const c of req.body) chunks.push(c as Buffer);
            const body = Buffer.concat(chunks);
            githubSeen.push({ path: req.path, body: body.toString() });
            if (req.path.startsWith('/acme/secret')) {
              const b = Buffer.from(JSON.stringify({ error: 'repo_not_allowed', repo: 'acme/secret' }));
              return { action: 'respond', status: 403, headers: { 'content-type': 'application/json', 'x-km-deny-reason': 'repo_not_allowed', 'x-km-rule': 'sourceAccess.github.allowedRepos' }, body: b, event: { event_type: 'git.access', source: 'gateway', sandbox_id: 'sb-test0001', detail: { decision: 'deny', repo: 'acme/secret', rule: 'sourceAccess.github.allowedRepos' } } };
            }
            return { action: 'forward', body: Readable.from([body]), event: { decision: 'allow', repo: 'acme/ok' } };
          },
        },
      },
    },
  );
});
after(async () => {
  await g.close();
  await o.close();
  silent.close();
});

const viaProxy = (url: string, ...args: string[]) => curl(['-x', g.proxyUrl, '--cacert', g.caFile, ...args, url]);

test('allowed CONNECT without interception tunnels end to end (origin cert, not ours)', async () => {
  const caFile = `${g.dir}/upstream-ca.pem`;
  await writeFile(caFile, o.testCa.certPem);
  const r = await curl(['-x', g.proxyUrl, '--cacert', caFile, 'https://api.example.test/tunnelled']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).path, '/tunnelled');
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'api.example.test');
  assert.equal(e.detail.decision, 'allow');
  assert.equal(e.detail.intercepted, false);
  assert.equal(e.detail.status, 200);
  assert.ok((e.detail.bytes_up as number) > 200 && (e.detail.bytes_down as number) > 200);
});

test('h2 passes untouched through a non-intercepted tunnel', async () => {
  const caFile = `${g.dir}/upstream-ca.pem`;
  await writeFile(caFile, o.testCa.certPem);
  const r = await curl(['-v', '--http2', '-x', g.proxyUrl, '--cacert', caFile, 'https://h2.example.test/']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'h2 ok 2.0');
  assert.match(r.stderr, /ALPN: server accepted h2/);
});

test('CONNECT denied: 403 envelope on the CONNECT, http.connect deny event', async () => {
  const r = await curl(['-v', '-x', g.proxyUrl, 'https://evil.example.org/']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /< HTTP\/1\.1 403 Forbidden/);
  assert.match(r.stderr, /< x-km-deny-reason: host_not_allowed/);
  assert.match(r.stderr, /< x-km-rule: default-deny/);
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'evil.example.org');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.status, 403);
  assert.equal(e.detail.port, 443);
});

function connectTunnel(target: string, headers = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: g.port, method: 'CONNECT', path: target, headers: headers ? { 'proxy-authorization': headers } : {} });
    req.on('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`))));
    req.on('error', reject);
    req.end();
  });
}

test('SNI naming another host inside a tunnel closes it and records tunnel.sni_mismatch', async () => {
  const raw = await connectTunnel('api.example.test:443');
  const err = await new Promise<Error>((resolve) => {
    const s = tlsConnect({ socket: raw, servername: 'other.example.test', ca: o.testCa.certPem });
    s.on('error', resolve);
    s.on('secureConnect', () => resolve(new Error('handshake unexpectedly completed')));
  });
  assert.match(err.message, /socket disconnected|ECONNRESET/);
  const e = await waitForEvent(g.events, (e) => e.event_type === 'tunnel.sni_mismatch');
  assert.equal(e.detail.host, 'api.example.test');
  assert.equal(e.detail.sni, 'other.example.test');
  assert.equal(e.detail.decision, 'deny');
});

test('interception: leaf from the sandbox CA, request forwarded, exchange hook sees runId and taps the body', async () => {
  const r = await viaProxy('https://meter.example.test/v1/messages?beta=true', '-v', '-U', 'run-7:pw', '-d', '{"model":"m"}');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /issuer: CN=km sandbox sb-test0001/);
  assert.match(r.stderr, /ALPN: server accepted http\/1\.1/);
  const body = JSON.parse(r.stdout);
  assert.equal(body.path, '/v1/messages?beta=true');
  assert.equal(body.host, 'meter.example.test');
  assert.equal(body.headers['proxy-authorization'], undefined);
  const x = exchanges.find((e) => e.path === '/v1/messages?beta=true');
  assert.deepEqual({ ...x, headers: undefined }, { host: 'meter.example.test', method: 'POST', path: '/v1/messages?beta=true', runId: 'run-7', interceptReason: 'ai_metering', headers: undefined });
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/v1/messages');
  assert.equal(e.detail.intercepted, true);
  assert.equal(e.detail.intercept_reason, 'ai_metering');
  assert.equal(e.detail.bytes_up, 13);
  assert.equal(e.detail.bytes_down, Buffer.byteLength(r.stdout));
  assert.ok(tapped.includes(Buffer.byteLength(r.stdout)));
  const c = await waitForEvent(g.events, (e) => e.event_type === 'http.connect' && e.detail.host === 'meter.example.test' && e.detail.intercepted === true);
  assert.equal(c.detail.decision, 'allow');
  assert.equal(c.detail.sni, 'meter.example.test');
  assert.equal(c.detail.run_id, 'run-7');
  assert.ok((c.detail.bytes_up as number) > 300 && (c.detail.bytes_down as number) > 500, JSON.stringify(c.detail));
});

test('interception: keep-alive inside the tunnel and byte-exact 1.5 MB both ways', async () => {
  const file = `${g.dir}/big-up.bin`;
  await writeFile(file, BIG);
  const r = await curl(['-v', '-x', g.proxyUrl, '--cacert', g.caFile, '--data-binary', `@${file}`, 'https://meter.example.test/a', '--next', '-x', g.proxyUrl, '--cacert', g.caFile, 'https://meter.example.test/big']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Re-using existing connection/);
  const m = /"remote_port":\d+\}/.exec(r.stdout)!;
  const first = m.index + m[0].length;
  assert.equal(JSON.parse(r.stdout.slice(0, first)).body_sha256, sha256(BIG));
  assert.equal(sha256(Buffer.from(r.stdout.slice(first), 'latin1')), sha256(BIG));
});

test('interception: Host header naming another host → 403 host_mismatch', async () => {
  const r = await viaProxy('https://meter.example.test/x', '-v', '-H', 'Host: evil.example.org');
  assert.match(r.stderr, /< HTTP\/1\.1 403/);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error, 'host_mismatch');
  assert.equal(body.host, 'meter.example.test');
  assert.equal(body.rule, 'connect-target');
});

test('interception: SNI naming another host → 403 host_mismatch over the intercepted TLS', async () => {
  const raw = await connectTunnel('meter.example.test:443');
  const text = await new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ socket: raw, servername: 'evil.example.org', ca: g.ca.certPem, checkServerIdentity: () => undefined });
    let out = '';
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: meter.example.test\r\n\r\n'));
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 403 /);
  assert.match(text, /"error":"host_mismatch"/);
  assert.match(text, /SNI \\"evil\.example\.org\\"/);
});

test('interception: pathRules allow /v1/ and deny others with path_not_allowed', async () => {
  const ok = await viaProxy('https://paths.example.test/v1/models');
  assert.equal(JSON.parse(ok.stdout).path, '/v1/models');
  const dots = await viaProxy('https://paths.example.test/v1/%2e%2e/admin', '--path-as-is');
  assert.equal(JSON.parse(dots.stdout).error, 'path_not_allowed', 'dot segments cannot climb out of an allowed prefix');
  const no = await viaProxy('https://paths.example.test/admin?x=1', '-v');
  assert.match(no.stderr, /< HTTP\/1\.1 403/);
  assert.equal(JSON.parse(no.stdout).error, 'path_not_allowed');
  const e = await waitForEvent(g.events, (e) => e.detail.path === '/admin');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.rule, 'pathRules["paths.example.test"]');
});

test('GitHub guard: respond verdicts are written, forward verdicts replay the body', async () => {
  const denied = await viaProxy('https://github.com/acme/secret/info/refs?service=git-upload-pack', '-v');
  assert.match(denied.stderr, /< HTTP\/1\.1 403/);
  assert.match(denied.stderr, /< x-km-deny-reason: repo_not_allowed/);
  assert.equal(JSON.parse(denied.stdout).repo, 'acme/secret');
  const ok = await viaProxy('https://github.com/acme/ok/git-upload-pack', '-d', 'want 123');
  const body = JSON.parse(ok.stdout);
  assert.equal(body.body_sha256, sha256('want 123'));
  assert.deepEqual(githubSeen.map((s) => s.path), ['/acme/secret/info/refs?service=git-upload-pack', '/acme/ok/git-upload-pack']);
  const e = await waitForEvent(g.events, (e) => e.detail.host === 'github.com' && e.detail.status === 403);
  assert.equal(e.event_type, 'http.request');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.rule, 'sourceAccess.github.allowedRepos');
  const access = await waitForEvent(g.events, (e) => e.event_type === 'git.access');
  assert.deepEqual(access.detail, { decision: 'deny', repo: 'acme/secret', rule: 'sourceAccess.github.allowedRepos' });
  assert.match(access.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const fwd = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/acme/ok/git-upload-pack');
  assert.deepEqual(fwd.detail.github, { decision: 'allow', repo: 'acme/ok' });
});

test('upstream certificate not valid for the name → 502 upstream_tls_error naming the error', async () => {
  const r = await viaProxy('https://badname.example.test/', '-v');
  assert.match(r.stderr, /< HTTP\/1\.1 502/);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error, 'upstream_tls_error');
  assert.match(body.hint, /ERR_TLS_CERT_ALTNAME_INVALID/);
});

test('upstream that never answers → 504 upstream_timeout', async () => {
  const r = await viaProxy('https://slow.example.test/', '-v');
  assert.match(r.stderr, /< HTTP\/1\.1 504/);
  assert.equal(JSON.parse(r.stdout).error, 'upstream_timeout');
});

test('WebSocket upgrade inside interception', async () => {
  const raw = await connectTunnel('meter.example.test:443');
  const text = await new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ socket: raw, servername: 'meter.example.test', ca: g.ca.certPem });
    let out = '';
    s.on('secureConnect', () =>
      s.write('GET /ws HTTP/1.1\r\nHost: meter.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
    );
    s.on('data', (d) => {
      out += d;
      if (out.includes('\r\n\r\n') && !out.includes('echo-me')) s.write('echo-me');
      if (out.includes('echo-me')) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.match(text, /echo-me$/);
});

test('untrusted upstream (no extra CA) → 502 upstream_tls_error', async () => {
  const g2 = await startGateway(testPolicy({ 'meter.example.test': { intercept: 'ai_metering' } }), { 'meter.example.test': `127.0.0.1:${o.httpsPort}` }, undefined);
  try {
    const r = await curl(['-v', '-x', g2.proxyUrl, '--cacert', g2.caFile, 'https://meter.example.test/']);
    assert.match(r.stderr, /< HTTP\/1\.1 502/);
    const body = JSON.parse(r.stdout);
    assert.equal(body.error, 'upstream_tls_error');
    assert.match(body.hint, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  } finally {
    await g2.close();
  }
});

test('exchange hook: deny answers without reaching upstream; small bodies can be rewritten', async () => {
  const denied = await viaProxy('https://meter.example.test/budget', '-v', '-d', 'x');
  assert.match(denied.stderr, /< HTTP\/1\.1 403/);
  assert.deepEqual(JSON.parse(denied.stdout), { error: 'ai_budget_exhausted' });
  const e = await waitForEvent(g.events, (e) => e.event_type === 'http.request' && e.detail.path === '/budget');
  assert.equal(e.detail.decision, 'deny');
  assert.equal(e.detail.error, 'ai_budget_exhausted');
  assert.equal(e.detail.rule, 'budget.ai.maxSpendUSD');

  const small = await viaProxy('https://meter.example.test/rewrite', '-d', '{"model":"m"}');
  const body = JSON.parse(small.stdout);
  assert.equal(body.body_sha256, sha256('{"MODEL":"M"}'));
  assert.equal(body.headers['content-length'], '13');
  assert.deepEqual(seenResponses.at(-1), { status: 200, origin: 'fake' });
  const file = `${g.dir}/big-rewrite.bin`;
  await writeFile(file, BIG);
  const big = await viaProxy('https://meter.example.test/rewrite', '--data-binary', `@${file}`);
  assert.equal(JSON.parse(big.stdout).body_sha256, sha256(BIG), 'bodies the hook declines pass unchanged');
});
