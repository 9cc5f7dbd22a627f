/**
 * Property tests: random rule sets and random requests, decided by the compiled policy
 * and by a slow reference that scans every entry and sorts the matches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compilePolicy, decideDns, decideHost, GITHUB_HOSTS, tryNormaliseHost } from './index.ts';
import { policyInput, type InputParts } from './test-input.ts';

const LABELS = ['a', 'b', 'io', 'crates', 'evilcrates', 'github', 'com', 'km', 'internal', 'arpa'];
const IPS = ['10.0.0.1', '127.0.0.1', '192.168.1.20'];
const PORTS = [80, 443, 8080, 22];

const nameArb = fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const portSuffix = fc.option(fc.constantFrom(...PORTS), { nil: undefined }).map((p) => (p === undefined ? '' : `:${p}`));
const hostEntryArb = fc.oneof(
  fc.tuple(fc.boolean(), nameArb, portSuffix).map(([dot, n, p]) => `${dot ? '.' : ''}${n}${p}`),
  fc.tuple(fc.constantFrom(...IPS), portSuffix).map(([ip, p]) => `${ip}${p}`),
  fc.constantFrom('*', 'github.com', 'api.github.com'),
);
const suffixEntryArb = fc.oneof(
  fc.tuple(fc.boolean(), nameArb).map(([dot, n]) => `${dot ? '.' : ''}${n}`),
  fc.constant('*'),
);
const partsArb = fc.record({
  hosts: fc.array(hostEntryArb, { maxLength: 6 }),
  suffixes: fc.array(suffixEntryArb, { maxLength: 4 }),
  httpsOnly: fc.boolean(),
  mode: fc.constantFrom('allowlist' as const, 'none' as const),
  repos: fc.constantFrom<string[]>([], ['acme/api']),
});
/** Requests in mixed case, sometimes with a trailing dot. */
const requestHostArb = fc.oneof(
  fc.tuple(nameArb, fc.boolean(), fc.boolean()).map(([n, upper, dot]) => `${upper ? n.toUpperCase() : n}${dot ? '.' : ''}`),
  fc.constantFrom(...IPS, ...GITHUB_HOSTS, 'km.internal', '1.0.0.10.in-addr.arpa'),
);

interface RefEntry {
  rule: string;
  body: string;
  kind: 0 | 1 | 2; // exact, suffix, any
  ports: number[];
  order: number;
}

function refEntries(parts: InputParts): RefEntry[] {
  const out: RefEntry[] = [];
  const push = (text: string, rule: string, fromHosts: boolean): void => {
    const dot = text.startsWith('.');
    let body = dot ? text.slice(1) : text;
    let ports = [80, 443];
    const colon = body.lastIndexOf(':');
    if (colon > 0) {
      ports = [Number(body.slice(colon + 1))];
      body = body.slice(0, colon);
    }
    const kind = body === '*' ? 2 : dot || !fromHosts ? 1 : 0;
    out.push({ rule, body: body.toLowerCase(), kind, ports, order: out.length });
  };
  (parts.hosts ?? []).forEach((t, i) => push(t, `spec.network.egress.allowedHosts[${i}]`, true));
  (parts.suffixes ?? []).forEach((t, i) => push(t, `spec.network.egress.allowedDNSSuffixes[${i}]`, false));
  if (parts.mode === 'allowlist' && (parts.repos ?? []).length > 0) for (const h of GITHUB_HOSTS) push(h, 'implicit:github', true);
  return out;
}

function refCandidates(parts: InputParts, host: string): RefEntry[] {
  const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(host);
  return refEntries(parts)
    .filter((e) => e.kind === 2 || (e.kind === 0 && e.body === host) || (e.kind === 1 && !isIp && (host === e.body || host.endsWith(`.${e.body}`))))
    .sort((x, y) => x.kind - y.kind || (x.kind === 1 ? y.body.length - x.body.length : 0) || x.order - y.order);
}

const bare = (h: string): string => h.toLowerCase().replace(/\.$/, '');

function refHost(parts: InputParts, host: string, port: number, scheme: 'http' | 'https'): { allow: boolean; rule: string; error?: string } {
  const h = bare(host);
  if (h === 'km.internal') return [80, 443].includes(port) ? { allow: true, rule: 'reserved:km.internal' } : { allow: false, rule: 'reserved:km.internal', error: 'port_not_allowed' };
  const c = refCandidates(parts, h);
  const hit = c.find((e) => e.ports.includes(port));
  if (!hit) {
    if (c[0]) return { allow: false, rule: c[0].rule, error: 'port_not_allowed' };
    return { allow: false, rule: 'default-deny', error: /^\d+\.\d+\.\d+\.\d+$/.test(h) ? 'ip_literal_not_allowed' : 'host_not_allowed' };
  }
  if (parts.httpsOnly && scheme === 'http') return { allow: false, rule: 'spec.network.httpsOnly', error: 'https_required' };
  return { allow: true, rule: hit.rule };
}

function refDns(parts: InputParts, name: string): { allow: boolean; rule: string } {
  const n = bare(name);
  if (n === 'km.internal') return { allow: true, rule: 'reserved:km.internal' };
  const c = n === 'arpa' || n.endsWith('.arpa') ? refEntries(parts).filter((e) => e.kind === 2) : refCandidates(parts, n);
  return c[0] ? { allow: true, rule: c[0].rule } : { allow: false, rule: 'default-deny' };
}

test('decideHost agrees with the reference', () => {
  fc.assert(
    fc.property(partsArb, requestHostArb, fc.constantFrom(...PORTS), fc.constantFrom('http' as const, 'https' as const), (parts, host, port, scheme) => {
      const d = decideHost(compilePolicy(policyInput(parts), { sandboxId: 'sb-1' }), { host, port, scheme });
      const r = refHost(parts, host, port, scheme);
      assert.deepEqual({ allow: d.allow, rule: d.rule, ...(d.error ? { error: d.error } : {}) }, r);
    }),
    { numRuns: 3000 },
  );
});

test('decideDns agrees with the reference', () => {
  fc.assert(
    fc.property(partsArb, requestHostArb, (parts, name) => {
      const d = decideDns(compilePolicy(policyInput(parts), { sandboxId: 'sb-1' }), name);
      assert.deepEqual({ allow: d.allow, rule: d.rule }, refDns(parts, name));
    }),
    { numRuns: 3000 },
  );
});

test('a suffix never matches a name that merely ends with the same characters', () => {
  fc.assert(
    fc.property(nameArb, fc.constantFrom(...LABELS), (suffix, prefix) => {
      fc.pre(!/(^|\.)arpa$/.test(suffix) && `${prefix}.${suffix}` !== 'km.internal');
      const p = compilePolicy(policyInput({ suffixes: [suffix] }), { sandboxId: 'sb-1' });
      assert.equal(decideDns(p, `${prefix}${suffix}`).allow, false);
      assert.equal(decideDns(p, `${prefix}.${suffix}`).allow, true);
    }),
  );
});

test('deciding arbitrary text never throws, and only * allows what is not a host', () => {
  const p = compilePolicy(policyInput({ suffixes: ['io'], hosts: ['a.io:8080'] }), { sandboxId: 'sb-1' });
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 0, max: 70000 }), (host, port) => {
      const d = decideHost(p, { host, port });
      if (tryNormaliseHost(host) === null) assert.equal(d.allow, false);
      decideDns(p, host);
    }),
    { numRuns: 2000 },
  );
});

test('normaliseHost is idempotent', () => {
  fc.assert(
    fc.property(fc.oneof(requestHostArb, fc.string({ maxLength: 40 })), (h) => {
      const n = tryNormaliseHost(h);
      if (n === null) return;
      const again = tryNormaliseHost(n.host.includes(':') ? `[${n.host}]` : n.host);
      assert.equal(again?.host, n.host);
      assert.equal(again?.isIp, n.isIp);
    }),
    { numRuns: 2000 },
  );
});
