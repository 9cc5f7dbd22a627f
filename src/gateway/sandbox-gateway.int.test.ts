import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../core/clock.ts';
import { compilePolicy } from '../policy/index.ts';
import { policyInput } from '../policy/test-input.ts';
import { query, rcodeOf, streamAsk } from './dns/test-client.ts';
import { startFakeUpstream } from './dns/test-upstream.ts';
import { createSandboxCa } from './tls/index.ts';
import { openSandboxGateway, type SandboxGatewayEvent } from './sandbox-gateway.ts';

function viaProxy(socketPath: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ socketPath, path: url, headers: { host: u.host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('one sandbox gateway: forward proxy, DNS filter and transparent listener on unix sockets; batched events and activity', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'km-sbgw-'));
  const upstream = createServer((req, res) => res.end(`upstream ${req.url}`));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const clock = createManualClock(Date.parse('2027-03-01T09:00:00Z'));
  const batches: SandboxGatewayEvent[][] = [];
  const activity: number[] = [];
  const overrides = { 'allowed.test': `127.0.0.1:${port}` };
  const gw = await openSandboxGateway({
    sandboxId: 'sb-0000abcd',
    policy: compilePolicy(policyInput({ hosts: ['allowed.test'] }), { sandboxId: 'sb-0000abcd', hostOverrides: overrides }),
    github: { mode: 'allowlist', allowedRepos: [], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false },
    ca: await createSandboxCa('sb-0000abcd', clock),
    gatewayDir: join(dir, 'gw'),
    config: { hostOverrides: overrides, upstreamDns: ['127.0.0.1:9'] },
    clock,
    onEvents: (b) => batches.push(b),
    onActivity: (ms) => activity.push(ms),
    flushMs: 20,
  });
  t.after(async () => {
    await gw.close();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const s of ['proxy.sock', 'dns.sock', 'dns-tcp.sock', 'transparent.sock']) assert.equal(statSync(join(dir, 'gw', s)).mode & 0o777, 0o666, s);

  const ok = await viaProxy(join(dir, 'gw', 'proxy.sock'), 'http://allowed.test/hello');
  assert.deepEqual(ok, { status: 200, body: 'upstream /hello' });
  const denied = await viaProxy(join(dir, 'gw', 'proxy.sock'), 'http://evil.test/');
  assert.equal(denied.status, 403);
  assert.equal(JSON.parse(denied.body).rule, 'default-deny');

  const nx = await streamAsk(join(dir, 'gw', 'dns-tcp.sock'), query('evil.test', 'A'));
  assert.equal(rcodeOf(nx!), 3);
  const standIn = await streamAsk(join(dir, 'gw', 'dns-tcp.sock'), query('allowed.test', 'A'));
  assert.equal(rcodeOf(standIn!), 0);

  await new Promise((r) => setTimeout(r, 60));
  const events = batches.flat();
  const dns = events.filter((e) => e.eventType === 'dns.query').map((e) => [e.detail.name, e.detail.decision]);
  assert.deepEqual(dns, [['evil.test', 'deny'], ['allowed.test', 'allow']]);
  assert.ok(events.some((e) => e.eventType === 'http.request' && e.detail.decision === 'deny'));
  assert.ok(activity.length >= 4);
  const st = gw.stats();
  assert.ok(st.denied >= 2 && st.allowed >= 2, JSON.stringify(st));
});

test('with gateway.upstream_dns the gateway keeps its own and its DNS filter\'s answers for their TTL: one query per name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'km-sbgw-'));
  const up = await startFakeUpstream();
  up.records.set('named.test', [{ type: 'A', data: '127.0.0.1', ttl: 60 }]);
  const clock = createManualClock(Date.parse('2027-03-01T09:00:00Z'));
  const gw = await openSandboxGateway({
    sandboxId: 'sb-0000abce',
    policy: compilePolicy(policyInput({ hosts: ['named.test', 'looked.test'] }), { sandboxId: 'sb-0000abce' }),
    github: { mode: 'allowlist', allowedRepos: [], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false },
    ca: await createSandboxCa('sb-0000abce', clock),
    gatewayDir: join(dir, 'gw'),
    config: { upstreamDns: [`127.0.0.1:${up.port}`] },
    clock,
    onEvents: () => undefined,
    onActivity: () => undefined,
    flushMs: 20,
  });
  t.after(async () => {
    await gw.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Loopback is not a destination a profile can reach, so both are refused after the lookup.
  for (let i = 0; i < 2; i++) {
    const r = await viaProxy(join(dir, 'gw', 'proxy.sock'), 'http://named.test/');
    assert.equal(JSON.parse(r.body).error, 'destination_not_allowed', r.body);
  }
  assert.equal(up.asked.filter((n) => n === 'named.test').length, 1);
  clock.advance(60_000);
  await viaProxy(join(dir, 'gw', 'proxy.sock'), 'http://named.test/');
  assert.equal(up.asked.filter((n) => n === 'named.test').length, 2);

  // What the sandbox's own lookup got (through its DNS filter) is what the gateway dials.
  up.records.set('looked.test', [{ type: 'A', data: '127.0.0.3', ttl: 30 }]);
  const a = await streamAsk(join(dir, 'gw', 'dns-tcp.sock'), query('looked.test', 'A'));
  assert.equal(rcodeOf(a!), 0);
  up.records.set('looked.test', [{ type: 'A', data: '127.0.0.4', ttl: 30 }]);
  const r = await viaProxy(join(dir, 'gw', 'proxy.sock'), 'http://looked.test/');
  assert.equal(JSON.parse(r.body).error, 'destination_not_allowed', r.body);
  assert.match(JSON.parse(r.body).hint, /127\.0\.0\.3/, 'dialled the address the sandbox was given');
  assert.equal(up.asked.filter((n) => n === 'looked.test').length, 1);
});
