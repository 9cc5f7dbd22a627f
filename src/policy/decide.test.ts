import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isKmError } from '../core/errors.ts';
import { compilePolicy, decideDns, decideHost, decidePath, GITHUB_HOSTS } from './index.ts';
import { policyInput, type InputParts } from './test-input.ts';

const H = 'spec.network.egress.allowedHosts';
const S = 'spec.network.egress.allowedDNSSuffixes';
const compile = (parts: InputParts, extra?: string[]) =>
  compilePolicy(policyInput(parts), { sandboxId: 'sb-5e0c9a12', ...(extra ? { extraMeteringHosts: extra } : {}) });

interface HostCase {
  name: string;
  parts: InputParts;
  host: string;
  port?: number;
  scheme?: 'http' | 'https';
  allow: boolean;
  rule: string;
  error?: string;
}

const hostCases: HostCase[] = [
  { name: 'default deny', parts: {}, host: 'example.org', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'suffix covers apex', parts: { suffixes: ['.crates.io'] }, host: 'crates.io', allow: true, rule: `${S}[0]` },
  { name: 'suffix covers subdomain', parts: { suffixes: ['.crates.io'] }, host: 'static.crates.io', allow: true, rule: `${S}[0]` },
  { name: 'suffix without dot is the same', parts: { suffixes: ['crates.io'] }, host: 'a.b.crates.io', allow: true, rule: `${S}[0]` },
  { name: 'suffix never matches a longer label', parts: { suffixes: ['.crates.io'] }, host: 'evilcrates.io', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'exact host is exact', parts: { hosts: ['registry.npmjs.org'] }, host: 'www.registry.npmjs.org', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'exact host matches itself', parts: { hosts: ['x.org', 'registry.npmjs.org'] }, host: 'registry.npmjs.org', allow: true, rule: `${H}[1]` },
  { name: 'leading-dot host entry is a suffix', parts: { hosts: ['.npmjs.org'] }, host: 'registry.npmjs.org', allow: true, rule: `${H}[0]` },
  { name: 'case, trailing dot', parts: { hosts: ['Registry.NPMJS.org'] }, host: 'REGISTRY.npmjs.org.', allow: true, rule: `${H}[0]` },
  { name: 'IDN entry and request', parts: { hosts: ['bücher.de'] }, host: 'xn--bcher-kva.de', allow: true, rule: `${H}[0]` },
  { name: 'IDN request vs punycode entry', parts: { suffixes: ['xn--bcher-kva.de'] }, host: 'www.BÜCHER.de', allow: true, rule: `${S}[0]` },
  { name: 'default ports 80', parts: { hosts: ['a.org'] }, host: 'a.org', port: 80, allow: true, rule: `${H}[0]` },
  { name: 'default ports exclude 8080', parts: { hosts: ['a.org'] }, host: 'a.org', port: 8080, allow: false, rule: `${H}[0]`, error: 'port_not_allowed' },
  { name: 'explicit port only', parts: { hosts: ['a.org:8443'] }, host: 'a.org', port: 8443, allow: true, rule: `${H}[0]` },
  { name: 'explicit port excludes 443', parts: { hosts: ['a.org:8443'] }, host: 'a.org', port: 443, allow: false, rule: `${H}[0]`, error: 'port_not_allowed' },
  { name: 'another entry allows the port', parts: { hosts: ['a.org:8443'], suffixes: ['a.org'] }, host: 'a.org', port: 443, allow: true, rule: `${S}[0]` },
  { name: 'suffix host entry with port', parts: { hosts: ['.a.org:5000'] }, host: 'x.a.org', port: 5000, allow: true, rule: `${H}[0]` },
  { name: 'exact beats suffix', parts: { suffixes: ['.a.org'], hosts: ['x.a.org'] }, host: 'x.a.org', allow: true, rule: `${H}[0]` },
  { name: 'longer suffix beats shorter', parts: { suffixes: ['a.org', 'x.a.org'] }, host: 'y.x.a.org', allow: true, rule: `${S}[1]` },
  { name: 'specific beats star', parts: { hosts: ['*', 'x.org'] }, host: 'x.org', allow: true, rule: `${H}[1]` },
  { name: 'star matches any name', parts: { suffixes: ['*'] }, host: 'anything.example', allow: true, rule: `${S}[0]` },
  { name: 'star matches IP literal', parts: { hosts: ['*'] }, host: '10.1.2.3', allow: true, rule: `${H}[0]` },
  { name: 'star allows only default ports', parts: { hosts: ['*'] }, host: 'x.org', port: 22, allow: false, rule: `${H}[0]`, error: 'port_not_allowed' },
  { name: 'IP literal denied', parts: {}, host: '127.0.0.1', allow: false, rule: 'default-deny', error: 'ip_literal_not_allowed' },
  { name: 'IP shorthand is an IP', parts: {}, host: '127.1', allow: false, rule: 'default-deny', error: 'ip_literal_not_allowed' },
  { name: 'IP listed exactly', parts: { hosts: ['10.0.0.5'] }, host: '10.0.0.5', allow: true, rule: `${H}[0]` },
  { name: 'IP listed with port', parts: { hosts: ['10.0.0.5:5432'] }, host: '10.0.0.5', port: 5432, allow: true, rule: `${H}[0]` },
  { name: 'IPv6 listed', parts: { hosts: ['[2001:db8::1]:8443'] }, host: '[2001:DB8:0::1]', port: 8443, allow: true, rule: `${H}[0]` },
  { name: 'IPv6 denied', parts: { hosts: ['x.org'] }, host: '::1', allow: false, rule: 'default-deny', error: 'ip_literal_not_allowed' },
  { name: 'httpsOnly refuses http', parts: { hosts: ['a.org'], httpsOnly: true }, host: 'a.org', port: 80, scheme: 'http', allow: false, rule: 'spec.network.httpsOnly', error: 'https_required' },
  { name: 'httpsOnly allows https', parts: { hosts: ['a.org'], httpsOnly: true }, host: 'a.org', scheme: 'https', allow: true, rule: `${H}[0]` },
  { name: 'httpsOnly: denied host stays host_not_allowed', parts: { httpsOnly: true }, host: 'b.org', scheme: 'http', port: 80, allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'km.internal reserved', parts: {}, host: 'km.internal', port: 80, allow: true, rule: 'reserved:km.internal' },
  { name: 'km.internal cannot be taken over', parts: { hosts: ['km.internal'] }, host: 'KM.INTERNAL.', allow: true, rule: 'reserved:km.internal' },
  { name: 'km.internal exempt from httpsOnly', parts: { httpsOnly: true }, host: 'km.internal', port: 80, scheme: 'http', allow: true, rule: 'reserved:km.internal' },
  { name: 'implicit github with repos', parts: { repos: ['acme/api'] }, host: 'codeload.githubusercontent.com', allow: true, rule: 'implicit:github' },
  { name: 'no implicit github without repos', parts: {}, host: 'github.com', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'no implicit github in mode none', parts: { mode: 'none', repos: ['acme/api'] }, host: 'github.com', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'garbage host', parts: { hosts: ['*'] }, host: 'a b.org', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
  { name: 'userinfo trick', parts: { hosts: ['a.org'] }, host: 'a.org@evil.org', allow: false, rule: 'default-deny', error: 'host_not_allowed' },
];

describe('decideHost', () => {
  for (const c of hostCases) {
    test(c.name, () => {
      const d = decideHost(compile(c.parts), { host: c.host, port: c.port ?? 443, ...(c.scheme ? { scheme: c.scheme } : {}) });
      assert.equal(d.allow, c.allow);
      assert.equal(d.rule, c.rule);
      assert.equal(d.error, c.error);
      assert.equal(d.hint === undefined, c.allow, 'denials carry a hint, allows do not');
    });
  }

  test('host is normalised in the decision', () => {
    const d = decideHost(compile({ hosts: ['bücher.de'] }), { host: 'BÜCHER.de.', port: 443 });
    assert.equal(d.host, 'xn--bcher-kva.de');
    assert.equal(d.port, 443);
  });

  test('hint names the host, a parent suffix and the explain command', () => {
    const d = decideHost(compile({}), { host: 'pkg.example.org', port: 443 });
    assert.equal(
      d.hint,
      'add "pkg.example.org" to spec.network.egress.allowedHosts or ".example.org" to allowedDNSSuffixes in a new profile; check with: km policy explain sb-5e0c9a12 pkg.example.org',
    );
  });
});

describe('interception', () => {
  const cases: Array<[string, InputParts, string, boolean, string | null, string[]?]> = [
    ['AI host when allowed', { hosts: ['api.anthropic.com'] }, 'api.anthropic.com', true, 'ai_metering'],
    ['AI host not intercepted when denied', {}, 'api.openai.com', false, null],
    ['bedrock any region', { suffixes: ['.amazonaws.com'] }, 'bedrock-runtime.eu-west-3.amazonaws.com', true, 'ai_metering'],
    ['bedrock fips', { suffixes: ['.amazonaws.com'] }, 'bedrock-runtime-fips.us-east-1.amazonaws.com', true, 'ai_metering'],
    ['other aws not intercepted', { suffixes: ['.amazonaws.com'] }, 's3.us-east-1.amazonaws.com', false, null],
    ['extra metering host', { hosts: ['llm.corp.example'] }, 'llm.corp.example', true, 'ai_metering', ['LLM.corp.example']],
    ['github in allowlist mode, via suffix and no repos', { suffixes: ['.github.com'] }, 'api.github.com', true, 'source_access'],
    ['github in mode none', { suffixes: ['.github.com'], mode: 'none' }, 'api.github.com', false, null],
    ['github.io is not a GitHub host', { suffixes: ['github.io'] }, 'x.github.io', false, null],
    ['pathRules host', { hosts: ['api.x.org'], pathRules: [{ host: 'api.x.org', allow: ['GET /v1/*'] }] }, 'api.x.org', true, 'path_rules'],
    ['plain allowed host is tunnelled', { hosts: ['a.org'] }, 'a.org', false, null],
  ];
  for (const [name, parts, host, intercept, reason, extra] of cases) {
    test(name, () => {
      const d = decideHost(compile(parts, extra), { host, port: 443 });
      assert.equal(d.intercept, intercept);
      assert.equal(d.interceptReason, reason);
    });
  }
});

describe('decideDns', () => {
  const cases: Array<[string, InputParts, string, boolean, string]> = [
    ['suffix apex', { suffixes: ['.crates.io'] }, 'crates.io', true, `${S}[0]`],
    ['suffix sub', { suffixes: ['.crates.io'] }, 'x.crates.io.', true, `${S}[0]`],
    ['not evilcrates', { suffixes: ['.crates.io'] }, 'evilcrates.io', false, 'default-deny'],
    ['exact hosts resolve too (§17.12)', { hosts: ['registry.npmjs.org:8443'] }, 'registry.npmjs.org', true, `${H}[0]`],
    ['exact host does not cover subdomains', { hosts: ['registry.npmjs.org'] }, 'www.registry.npmjs.org', false, 'default-deny'],
    ['dotted host entry is a suffix', { hosts: ['.npmjs.org'] }, 'a.npmjs.org', true, `${H}[0]`],
    ['implicit github', { repos: ['acme/*'] }, 'raw.githubusercontent.com', true, 'implicit:github'],
    ['implicit github needs repos', {}, 'github.com', false, 'default-deny'],
    ['km.internal always', {}, 'km.internal', true, 'reserved:km.internal'],
    ['km.internal not overridable', { hosts: ['km.internal'] }, 'KM.Internal', true, 'reserved:km.internal'],
    ['reverse denied', { suffixes: ['in-addr.arpa'] }, '1.0.0.127.in-addr.arpa', false, 'default-deny'],
    ['reverse allowed by star', { suffixes: ['*'] }, '1.0.0.127.in-addr.arpa', true, `${S}[0]`],
    ['star', { hosts: ['*'] }, 'whatever.test', true, `${H}[0]`],
    ['escaped label matches no suffix', { suffixes: ['crates.io'] }, 'evil.com\\046crates.io', false, 'default-deny'],
    ['IP-shaped name only by exact entry', { suffixes: ['example'] }, '127.0.0.1', false, 'default-deny'],
    ['IP-shaped name listed', { hosts: ['10.0.0.5'] }, '10.0.0.5', true, `${H}[0]`],
    ['case-insensitive', { suffixes: ['Example.COM'] }, 'WWW.example.com', true, `${S}[0]`],
  ];
  for (const [name, parts, qname, allow, rule] of cases) {
    test(name, () => {
      const d = decideDns(compile(parts), qname);
      assert.equal(d.allow, allow);
      assert.equal(d.rule, rule);
    });
  }
  test('name is normalised', () => {
    assert.equal(decideDns(compile({}), 'WWW.Example.ORG.').name, 'www.example.org');
  });
});

describe('decidePath', () => {
  const p = compile({
    hosts: ['api.x.org'],
    pathRules: [{ host: 'API.x.org', allow: ['GET /v1/*', 'post /v1/items', '* /health'] }],
  });
  const R = 'spec.network.egress.pathRules[0]';
  const cases: Array<[string, string, string, boolean, string]> = [
    ['glob matches slashes', 'GET', '/v1/a/b/c', true, `${R}.allow[0]`],
    ['query ignored', 'GET', '/v1/a?x=/etc', true, `${R}.allow[0]`],
    ['method must match', 'DELETE', '/v1/a', false, R],
    ['exact path, method uppercased', 'POST', '/v1/items', true, `${R}.allow[1]`],
    ['exact path is exact', 'POST', '/v1/items/2', false, R],
    ['any method', 'PATCH', '/health', true, `${R}.allow[2]`],
    ['dot segments cannot escape', 'GET', '/v1/../admin', false, R],
    ['encoded dot segments cannot escape', 'GET', '/v1/%2e%2e/admin', false, R],
    ['no leading slash', 'GET', 'v1/a', false, R],
  ];
  for (const [name, method, path, allow, rule] of cases) {
    test(name, () => assert.deepEqual(decidePath(p, 'api.x.org', method, path), { allow, rule }));
  }
  test('hosts without rules are not restricted', () => {
    assert.deepEqual(decidePath(p, 'other.org', 'DELETE', '/x'), { allow: true, rule: 'no-path-rules' });
  });
});

describe('compilePolicy rejects entries it cannot read', () => {
  const bad: Array<[string, InputParts]> = [
    ['suffix with port', { suffixes: ['a.org:443'] }],
    ['scheme', { hosts: ['https://a.org'] }],
    ['path', { hosts: ['a.org/x'] }],
    ['bad port', { hosts: ['a.org:99999'] }],
    ['IP suffix', { hosts: ['.10.0.0.1'] }],
    ['numeric suffix', { suffixes: ['0.5'] }],
    ['bad path rule', { hosts: ['a.org'], pathRules: [{ host: 'a.org', allow: ['FETCH /x'] }] }],
    ['bad repo', { repos: ['a/b/c'] }],
  ];
  for (const [name, parts] of bad) {
    test(name, () => {
      assert.throws(() => compile(parts), (e: unknown) => isKmError(e) && e.code === 'profile_invalid' && /spec\./.test(e.message));
    });
  }
});

test('GITHUB_HOSTS are the eight of §4.1', () => {
  assert.equal(GITHUB_HOSTS.length, 8);
  assert.ok(GITHUB_HOSTS.includes('objects.githubusercontent.com'));
});
