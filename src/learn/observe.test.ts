import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../store/index.ts';
import { observe } from './index.ts';

const SB = 'sb-0a1b2c3d';
let seq = 0;
const ev = (eventType: string, timestampMs: number, detail: Record<string, unknown>): EventRecord => ({ seq: ++seq, timestampMs, sandboxId: SB, eventType, source: 'gateway', detail });
const session = { id: 'ls-2', startedAtMs: 1000, stoppedAtMs: 9000, origin: 'cli' };

const events: EventRecord[] = [
  ev('dns.query', 500, { name: 'before.example.com', type: 'A', decision: 'allow' }),
  ev('dns.query', 1000, { name: 'static.crates.io', type: 'A', decision: 'allow', rule: 'x' }),
  ev('dns.query', 1100, { name: 'evil.example.', type: 'A', decision: 'deny', rule: 'default-deny' }),
  ev('http.connect', 1200, { host: 'index.crates.io', port: 443, method: 'CONNECT', decision: 'allow' }),
  ev('http.request', 1300, { host: 'cdn.example.org', port: 8080, method: 'GET', decision: 'deny', error: 'port_not_allowed' }),
  ev('http.connect', 1350, { host: null, port: 443, decision: 'deny', error: 'no_sni' }),
  ev('git.access', 1400, { host: 'github.com', repo: 'Acme/App.git', kind: 'info-refs', decision: 'allow' }),
  ev('git.access', 1450, { host: 'api.github.com', repo: null, kind: 'api', decision: 'allow' }),
  ev('git.push', 1500, { host: 'github.com', repo: 'acme/app', decision: 'allow', updates: [{ ref: 'refs/heads/feature/x', kind: 'create', decision: 'allow' }, { ref: 'refs/heads/old', kind: 'delete' }, { ref: 'bogus', kind: 'rename' }] }),
  ev('command', 1600, { argv: ['sh', '-c', 'echo hi'], exit_code: 0 }),
  ev('command', 1700, { command: 'npm test' }),
  ev('lifecycle.running', 1800, { actor: 'operator' }),
  ev('dns.query', 9001, { name: 'after.example.com', decision: 'allow' }),
];

test('observations: names, hosts and ports, repos, refs with kind, commands and denials inside the window only', () => {
  const o = observe(SB, session, events, 99_999);
  assert.deepEqual(o.dnsNames, ['static.crates.io', 'evil.example.']);
  assert.deepEqual(o.hosts, [{ host: 'index.crates.io', port: 443 }, { host: 'cdn.example.org', port: 8080 }]);
  assert.deepEqual(o.repos, ['Acme/App', 'acme/app']);
  assert.deepEqual(o.refs, [{ ref: 'refs/heads/feature/x', kind: 'create' }, { ref: 'refs/heads/old', kind: 'delete' }]);
  assert.deepEqual(o.commands, ["sh -c 'echo hi'", 'npm test']);
  assert.equal(o.denials, 3);
  assert.deepEqual(o.denied, ['cdn.example.org:8080', 'evil.example']);
  assert.deepEqual([o.sessionId, o.startedAt, o.endedAt], ['ls-2', '1970-01-01T00:00:01Z', '1970-01-01T00:00:09Z']);
});

test('an open session reaches up to now; events of other sandboxes are ignored', () => {
  const open = { ...session, stoppedAtMs: null };
  const other: EventRecord = { ...ev('dns.query', 2000, { name: 'other.example' }), sandboxId: 'sb-ffffffff' };
  const o = observe(SB, open, [...events, other], 10_000);
  assert.ok(o.dnsNames.includes('after.example.com'));
  assert.ok(!o.dnsNames.includes('other.example'));
  assert.equal(o.endedAt, null);
  assert.ok(!observe(SB, open, events, 5000).dnsNames.includes('after.example.com'));
});

test('the window starts at the session\'s start to the millisecond: earlier traffic in the same second stays out', () => {
  const s = { id: 'ls-1', startedAtMs: 5_400, stoppedAtMs: 7_000, origin: 'shell' };
  const o = observe(SB, s, [ev('dns.query', 5_400, { name: 'at-start.example' }), ev('dns.query', 5_399, { name: 'same-second-before.example' }), ev('dns.query', 4_999, { name: 'too-early.example' })], 10_000);
  assert.deepEqual(o.dnsNames, ['at-start.example']);
});
