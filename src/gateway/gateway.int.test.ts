import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { compilePolicy } from '../policy/index.ts';
import { policyInput } from '../policy/test-input.ts';
import { createGithubGuard } from './github/index.ts';
import { createHttpGateway, createLeafCache, createSandboxCa, gatewayPolicy, type GatewayEvent, type HttpGateway } from './index.ts';
import { curl, startOrigins, type Origins } from './http/test-fixtures.ts';

let o: Origins;
let gw: HttpGateway;
let kmd: Server;
let dir: string;
let caFile: string;
let proxy: string;
const events: GatewayEvent[] = [];

before(async () => {
  o = await startOrigins(['api.example.test', 'meter.example.test', 'github.com']);
  kmd = createServer((req, res) => res.end(JSON.stringify({ sandbox: req.headers['x-km-sandbox'], path: req.url })));
  await new Promise<void>((r) => kmd.listen(0, '127.0.0.1', r));
  const overrides = {
    'api.example.test': `127.0.0.1:${o.httpsPort}`,
    'meter.example.test': `127.0.0.1:${o.httpsPort}`,
    'github.com': `127.0.0.1:${o.httpsPort}`,
    'plain.example.test': `127.0.0.1:${o.httpPort}`,
  };
  const sandboxId = 'sb-0c0ffee1';
  const compiled = compilePolicy(
    policyInput({
      hosts: ['plain.example.test', 'api.example.test', 'meter.example.test'],
      pathRules: [{ host: 'api.example.test', allow: ['GET /v1/*'] }],
      repos: ['acme/ok'],
    }),
    { sandboxId, extraMeteringHosts: ['meter.example.test'], hostOverrides: overrides },
  );
  const ca = await createSandboxCa(sandboxId, systemClock);
  dir = await mkdtemp(join(tmpdir(), 'km-egress-'));
  caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  gw = await createHttpGateway({
    sandboxId,
    policy: gatewayPolicy(compiled),
    leafs: createLeafCache(ca, { clock: systemClock }),
    upstream: { hostOverrides: { ...overrides, 'km.internal': `127.0.0.1:${(kmd.address() as AddressInfo).port}` }, extraCaPem: o.testCa.certPem },
    onEvent: (e) => events.push(e),
    clock: systemClock,
    hooks: {
      github: createGithubGuard({ mode: 'allowlist', allowedRepos: ['acme/ok'], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false, sandboxId }),
    },
  });
  proxy = `http://127.0.0.1:${(gw.address as { port: number }).port}`;
});
after(async () => {
  await gw.close();
  await o.close();
  kmd.close();
  await rm(dir, { recursive: true, force: true });
});

test('compiled policy: allowed host forwarded, unknown host denied with the policy rule and hint', async () => {
  const ok = await curl(['-x', proxy, 'http://plain.example.test/x']);
  assert.equal(JSON.parse(ok.stdout).path, '/x');
  const no = await curl(['-x', proxy, 'http://pkg.example.org/']);
  const body = JSON.parse(no.stdout);
  assert.equal(body.error, 'host_not_allowed');
  assert.equal(body.rule, 'default-deny');
  assert.equal(body.sandbox, 'sb-0c0ffee1');
  assert.match(body.hint, /km policy explain sb-0c0ffee1 pkg\.example\.org/);
});

test('compiled policy: metering host intercepted, pathRules host intercepted and enforced', async () => {
  const m = await curl(['-v', '-x', proxy, '--cacert', caFile, 'https://meter.example.test/v1/messages']);
  assert.match(m.stderr, /issuer: CN=km sandbox sb-0c0ffee1/);
  assert.equal(JSON.parse(m.stdout).path, '/v1/messages');
  const ok = await curl(['-x', proxy, '--cacert', caFile, 'https://api.example.test/v1/models']);
  assert.equal(JSON.parse(ok.stdout).path, '/v1/models');
  const no = await curl(['-x', proxy, '--cacert', caFile, '-X', 'DELETE', 'https://api.example.test/v1/models']);
  assert.equal(JSON.parse(no.stdout).error, 'path_not_allowed');
  const e = events.find((e) => e.event_type === 'http.request' && e.detail.host === 'meter.example.test');
  assert.equal(e?.detail.intercept_reason, 'ai_metering');
});

test('GitHub guard: disallowed repo refused at info/refs, allowed repo forwarded', async () => {
  const no = await curl(['-v', '-x', proxy, '--cacert', caFile, 'https://github.com/acme/secret.git/info/refs?service=git-upload-pack']);
  assert.match(no.stderr, /< HTTP\/1\.1 403/);
  const body = JSON.parse(no.stdout);
  assert.equal(body.error, 'repo_not_allowed');
  assert.equal(body.repo, 'acme/secret');
  const ok = await curl(['-x', proxy, '--cacert', caFile, 'https://github.com/acme/ok.git/info/refs?service=git-upload-pack']);
  assert.equal(JSON.parse(ok.stdout).path, '/acme/ok.git/info/refs?service=git-upload-pack');
  assert.ok(events.some((e) => e.event_type === 'git.access'));
});

test('km.internal goes to kmd with the sandbox id the gateway sets (a spoofed one is replaced)', async () => {
  const r = await curl(['-x', proxy, '-H', 'X-Km-Sandbox: sb-someoneelse', 'http://km.internal/v1/logs']);
  assert.deepEqual(JSON.parse(r.stdout), { sandbox: 'sb-0c0ffee1', path: '/v1/logs' });
});
