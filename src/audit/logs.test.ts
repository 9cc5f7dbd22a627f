import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { openSqliteStore, type EventRecord } from '../store/index.ts';
import { eventJson, followEvents, parseLimit, parseSince, renderEventLine } from './logs.ts';

const T = Date.UTC(2027, 2, 3, 8, 15, 2);
const ev = (eventType: string, detail: Record<string, unknown>, source = 'gateway'): EventRecord => ({ seq: 1, timestampMs: T, sandboxId: 'sb-1', eventType, source, detail });

test('human lines name the decision, the subject and the rule', () => {
  const rows: Array<[EventRecord, string]> = [
    [ev('dns.query', { name: 'evil.example', type: 'A', decision: 'deny', rule: 'default-deny', rcode: 3 }), '2027-03-03 08:15:02  dns.query  deny  evil.example  (default-deny)\n'],
    [ev('http.request', { method: 'GET', host: 'api.github.com', path: '/repos/a/b', status: 200, decision: 'allow', rule: 'spec.network.egress.allowedHosts[0]' }), '2027-03-03 08:15:02  http.request  allow  GET api.github.com/repos/a/b 200  (spec.network.egress.allowedHosts[0])\n'],
    [ev('http.connect', { host: 'x.io', port: 443, decision: 'deny', rule: 'default-deny' }), '2027-03-03 08:15:02  http.connect  deny  x.io:443  (default-deny)\n'],
    [ev('lifecycle.paused', { actor: 'budget', reason: 'AI budget exhausted' }, 'kmd'), '2027-03-03 08:15:02  lifecycle.paused  budget  AI budget exhausted\n'],
    [ev('command', { command: 'ls -la\nrm x' }, 'shell'), '2027-03-03 08:15:02  command  ls -la rm x\n'],
    [ev('command', { argv: ['sh', '-c', "echo 'hi' | wc"], exit_code: 0 }, 'exec'), "2027-03-03 08:15:02  command  sh -c 'echo '\\''hi'\\'' | wc'  exit 0\n"],
    [ev('ebpf.deny', { family: 4, proto: 'tcp', addr: '10.9.9.9', port: 22, pid: 4242, op: 'connect' }, 'kmd'), '2027-03-03 08:15:02  ebpf.deny  tcp 10.9.9.9:22 denied (connect, pid 4242)\n'],
    [ev('ebpf.deny', { family: 6, proto: 'udp', addr: '2001:db8::1', port: 9999, pid: 7, op: 'sendmsg', suppressed: 12 }, 'kmd'), '2027-03-03 08:15:02  ebpf.deny  udp [2001:db8::1]:9999 denied (sendmsg, pid 7, 12 more suppressed)\n'],
    [ev('mail.rejected', { from: 'sb-2', to: 'sb-1', subject: 'hi', reason: 'no', rule: 'email.allowedSenders' }, 'mail'), '2027-03-03 08:15:02  mail.rejected  sb-2 → sb-1  "hi"  (email.allowedSenders)  (no)\n'],
  ];
  for (const [e, line] of rows) assert.equal(renderEventLine(e, 'UTC'), line);
  assert.equal(renderEventLine(rows[0]![0], 'Europe/Berlin').slice(0, 19), '2027-03-03 09:15:02');
  assert.deepEqual(Object.keys(eventJson(rows[0]![0])), ['timestamp', 'sandbox_id', 'event_type', 'source', 'detail']);
  assert.equal(eventJson(rows[0]![0]).timestamp, '2027-03-03T08:15:02Z');
});

test('--since takes durations and instants; --limit positive integers', () => {
  assert.equal(parseSince('2h', T), T - 7_200_000);
  assert.equal(parseSince('1 day', T), T - 86_400_000);
  assert.equal(parseSince('2027-03-01T00:00:00Z', T), Date.UTC(2027, 2, 1));
  assert.throws(() => parseSince('yesterday-ish', T), (e) => e instanceof KmError && e.code === 'usage' && /neither a duration nor a time/.test(e.message));
  assert.equal(parseLimit('20'), 20);
  for (const bad of ['0', '-1', '1.5', 'x']) assert.throws(() => parseLimit(bad), KmError);
});

test('follow prints what exists, then each new event once, until aborted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-logs-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const add = (sandboxId: string, type: string, at: number) => store.appendEvents([{ timestampMs: at, sandboxId, eventType: type, source: 'kmd', detail: {} }]);
  await add('sb-1', 'lifecycle.creating', T);
  await add('sb-2', 'lifecycle.creating', T);
  await add('sb-1', 'dns.query', T + 1);
  const seen: string[] = [];
  const ac = new AbortController();
  const done = followEvents({ store, query: { sandboxId: 'sb-1', types: ['lifecycle.*', 'mail.sent'], limit: 5, fromEnd: true }, onEvent: (e) => seen.push(e.eventType), signal: ac.signal, pollMs: 10 });
  await new Promise((r) => setTimeout(r, 30));
  await add('sb-1', 'mail.sent', T - 60_000);
  await add('sb-2', 'mail.sent', T + 2);
  await add('sb-1', 'dns.query', T + 3);
  await add('sb-1', 'lifecycle.running', T + 4);
  const deadline = Date.now() + 5000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await done;
  assert.deepEqual(seen, ['lifecycle.creating', 'mail.sent', 'lifecycle.running'], 'older-stamped new events still show; other sandboxes and types do not');
});

test('human lines show control characters from the sandbox as escapes (no line erased, moved or forged)', () => {
  const hostile = [
    ev('mail.received', { from: 'sb-2', to: 'sb-1', subject: 'hi\x1b[1A\x1b[2K' }, 'mail'),
    ev('git.access', { repo: 'own/x\rforged  allow', decision: 'allow', rule: 'sourceAccess' }),
    ev('command', { argv: ['sudo', 'x\x1b]52;c;aGk=\x07'], exit_code: 0 }, 'sudo'),
  ];
  const lines = hostile.map((e) => renderEventLine(e, 'UTC'));
  for (const l of lines) assert.doesNotMatch(l, /[\x00-\x09\x0b-\x1f\x7f]/, JSON.stringify(l));
  assert.match(lines[0]!, /"hi\\x1b\[1A\\x1b\[2K"/);
  assert.match(lines[1]!, /own\/x\\x0dforged/);
  assert.match(lines[2]!, /\\x1b\]52;c;aGk=\\x07/);
});
