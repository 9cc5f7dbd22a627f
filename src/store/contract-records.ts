/** Contract: runs (§10.2), schedules (§11.4), identities (§12.1), events (§13.1), upkeep. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, kmError, sandboxInput, T0, usage, type OpenStore } from './contract-helpers.ts';
import type { IdentityRecord, NewSchedule } from './types.ts';

const schedule = (name: string): NewSchedule => ({
  name,
  kind: 'recurring',
  input: 'every weekday at 7:45pm',
  expression: '45 19 * * 1-5',
  awsExpression: 'cron(45 19 ? * MON-FRI *)',
  timezone: 'Europe/Berlin',
  command: ['stop', 'demo'],
  target: 'demo',
  createdAtMs: T0,
  nextFireAtMs: T0 + 3600_000,
});

const identity = (id: string, alias: string | null): IdentityRecord => ({
  id,
  alias,
  emailAddress: `${id}@sandboxes.km.internal`,
  signingPublicKey: 'c2lnbg==',
  encryptionPublicKey: null,
  signing: 'required',
  verifyInbound: 'optional',
  encryption: 'off',
  allowedSenders: ['self', '*@acme.dev'],
  updatedAtMs: T0,
});

export function recordContract(open: OpenStore): void {
  test('runs get unique sortable ids per sandbox and conditional updates', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput());
    const b = await store.insertSandbox(sandboxInput());
    const r1 = await store.createRun(a.id, { agent: 'claude', prompt: 'fix "it" $(now)', atMs: T0 + 123 });
    const r2 = await store.createRun(a.id, { agent: 'claude', prompt: 'two', atMs: T0 + 900, status: 'running' });
    const r3 = await store.createRun(b.id, { agent: 'codex', prompt: 'three', atMs: T0 });
    assert.deepEqual([r1.runId, r2.runId, r3.runId], ['20270303T081500Z', '20270303T081501Z', '20270303T081500Z']);
    assert.deepEqual([r1.status, r2.status, r2.startedAtMs, r1.prompt], ['queued', 'running', T0 + 900, 'fix "it" $(now)']);
    const result = { type: 'result', result: 'ok', km: { usage: { requests: 2 } } };
    const done = await store.updateRun(a.id, r2.runId, { status: 'succeeded', exitCode: 0, endedAtMs: T0 + 5000, result }, ['running']);
    assert.deepEqual([done.status, done.exitCode, done.endedAtMs, done.result], ['succeeded', 0, T0 + 5000, result]);
    await assert.rejects(store.updateRun(a.id, r2.runId, { status: 'cancelled' }, ['queued', 'running']), kmError('invalid_state', /is succeeded/));
    await assert.rejects(store.updateRun(a.id, '20990101T000000Z', { status: 'failed' }), kmError('not_found'));
    await assert.rejects(store.createRun('sb-ffffffff', { agent: 'claude', prompt: 'x', atMs: T0 }), kmError('not_found'));
    assert.deepEqual((await store.listRuns(a.id)).map((r) => r.runId), [r1.runId, r2.runId]);
    assert.deepEqual((await store.listRuns(a.id, { statuses: ['queued'] })).map((r) => r.runId), [r1.runId]);
    assert.equal((await store.getRun(b.id, r3.runId))?.agent, 'codex');
  });

  test('concurrent run creation in one second yields distinct ids', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput());
    const runs = await Promise.all(Array.from({ length: 5 }, () => store.createRun(a.id, { agent: 'claude', prompt: 'p', atMs: T0 })));
    assert.equal(new Set(runs.map((r) => r.runId)).size, 5);
  });

  test('schedules: unique names, status changes, listing', async (t) => {
    const store = await fresh(t, open);
    const s = await store.createSchedule({ ...schedule('km-at-stop-demo'), payload: { profile: { a: 1 } } });
    assert.deepEqual([s.status, s.command, s.payload, s.lastFireAtMs], ['active', ['stop', 'demo'], { profile: { a: 1 } }, null]);
    await assert.rejects(store.createSchedule(schedule('km-at-stop-demo')), kmError('usage', /already exists/));
    assert.equal((await store.createSchedule(schedule('km-at-stop-demo'), { uniquify: true })).name, 'km-at-stop-demo-2');
    assert.equal((await store.createSchedule(schedule('km-at-stop-demo'), { uniquify: true })).name, 'km-at-stop-demo-3');
    const long = 'x'.repeat(64);
    await store.createSchedule(schedule(long));
    assert.equal((await store.createSchedule(schedule(long), { uniquify: true })).name, `${'x'.repeat(62)}-2`);
    await store.setScheduleStatus('km-at-stop-demo-2', ['active'], 'cancelled');
    await assert.rejects(store.setScheduleStatus('km-at-stop-demo-2', ['active'], 'completed'), kmError('invalid_state', /is cancelled/));
    await assert.rejects(store.setScheduleStatus('nope', ['active'], 'completed'), kmError('not_found'));
    assert.deepEqual((await store.listSchedules()).map((x) => x.name), ['km-at-stop-demo', 'km-at-stop-demo-3', `${'x'.repeat(62)}-2`, long]);
    assert.equal((await store.listSchedules({ includeFinished: true })).length, 5);
    await store.setNextFire('km-at-stop-demo', T0 + 7);
    assert.equal((await store.getSchedule('km-at-stop-demo'))?.nextFireAtMs, T0 + 7);
  });

  test('claimFire lets one fire of a schedule run at a time', async (t) => {
    const store = await fresh(t, open);
    await store.createSchedule(schedule('s'));
    const claims = await Promise.all([1, 2, 3].map(() => store.claimFire('s', T0, T0 + 5)));
    assert.equal(claims.filter(Boolean).length, 1);
    assert.equal(await store.claimFire('s', T0 + 60_000, T0 + 60_000), false, 'overlapping fire is refused');
    await store.recordFire({ name: 's', fireAtMs: T0 + 60_000, executedAtMs: T0 + 60_000, delayS: 0, outcome: 'skipped', detail: 'previous fire still running' });
    assert.equal((await store.getSchedule('s'))?.runningFireAtMs, T0, 'a skipped fire does not release the claim');
    await store.recordFire({ name: 's', fireAtMs: T0, executedAtMs: T0 + 90_000, delayS: 0, outcome: 'ok', detail: 'run 1' }, { releaseClaim: true });
    const s = await store.getSchedule('s');
    assert.deepEqual([s?.runningSinceMs, s?.lastFireAtMs, s?.lastOutcome], [null, T0 + 60_000, 'skipped'], 'last fire = the most recent due time');
    assert.equal(await store.claimFire('s', T0 + 120_000, T0 + 120_000), true);
    assert.equal(await store.claimFire('s', T0 + 180_000, T0 + 180_000, 3600_000), false);
    assert.equal(await store.claimFire('s', T0 + 180_000, T0 + 180_000 + 3600_001, 3600_000), true, 'a stale claim can be taken over');
    assert.deepEqual((await store.fireHistory('s')).map((f) => [f.outcome, f.detail]), [['skipped', 'previous fire still running'], ['ok', 'run 1']]);
    assert.deepEqual((await store.fireHistory('s', { limit: 1 })).map((f) => f.outcome), ['ok']);
    await store.setScheduleStatus('s', ['active'], 'cancelled');
    await store.recordFire({ name: 's', fireAtMs: T0 + 180_000, executedAtMs: T0 + 180_000, delayS: 0, outcome: 'ok', detail: null }, { releaseClaim: true });
    assert.equal(await store.claimFire('s', T0 + 240_000, T0 + 240_000), false, 'cancelled schedules never fire');
    await assert.rejects(store.claimFire('missing', T0, T0), kmError('not_found'));
  });

  test('identities: put replaces, list puts the operator first', async (t) => {
    const store = await fresh(t, open);
    await store.putIdentity(identity('sb-5e0c9a12', 'demo'));
    await store.putIdentity(identity('operator', null));
    await store.putIdentity({ ...identity('sb-5e0c9a12', 'demo2'), encryptionPublicKey: 'ZW5j' });
    const got = await store.getIdentity('sb-5e0c9a12');
    assert.deepEqual([got?.alias, got?.encryptionPublicKey, got?.allowedSenders], ['demo2', 'ZW5j', ['self', '*@acme.dev']]);
    assert.deepEqual((await store.listIdentities()).map((i) => i.id), ['operator', 'sb-5e0c9a12']);
    assert.equal(await store.deleteIdentity('sb-5e0c9a12'), true);
    assert.equal(await store.deleteIdentity('sb-5e0c9a12'), false);
    assert.equal(await store.getIdentity('sb-5e0c9a12'), undefined);
  });

  test('events: batches, filters, timestamp order and a follow cursor', async (t) => {
    const store = await fresh(t, open);
    const ev = (ms: number, sandboxId: string, eventType: string, detail: Record<string, unknown> = {}) => ({ timestampMs: T0 + ms, sandboxId, eventType, source: 'gateway', detail });
    const seqs = await store.appendEvents([ev(30, 'sb-a', 'dns.query', { name: 'x' }), ev(10, 'sb-a', 'lifecycle.created'), ev(20, 'sb-b', 'http.request')]);
    assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!);
    assert.deepEqual(await store.appendEvents([]), []);
    const more = await store.appendEvents([ev(40, 'sb-a', 'lifecycle.paused', { actor: 'operator' }), ev(5, 'sb-a', 'dns.query')]);
    assert.deepEqual((await store.queryEvents({ sandboxId: 'sb-a' })).map((e) => e.timestampMs - T0), [5, 10, 30, 40]);
    assert.deepEqual((await store.queryEvents({ types: ['lifecycle.*'] })).map((e) => e.eventType), ['lifecycle.created', 'lifecycle.paused']);
    assert.deepEqual((await store.queryEvents({ types: ['dns.query', 'http.request'], sinceMs: T0 + 20 })).map((e) => e.timestampMs - T0), [20, 30]);
    assert.deepEqual((await store.queryEvents({ sandboxId: 'sb-a', limit: 2 })).map((e) => e.timestampMs - T0), [5, 10]);
    assert.deepEqual((await store.queryEvents({ sandboxId: 'sb-a', limit: 2, fromEnd: true })).map((e) => e.timestampMs - T0), [30, 40]);
    assert.deepEqual((await store.queryEvents({ afterSeq: seqs[2]! })).map((e) => e.seq), more);
    const last = await store.queryEvents({ types: ['lifecycle.paused'] });
    assert.deepEqual(last[0]?.detail, { actor: 'operator' });
    assert.equal(last[0]?.source, 'gateway');
    assert.equal(await store.lastEventSeq(), more[1]);
    assert.deepEqual(await store.queryEvents({ afterSeq: more[1]! }), []);
  });

  test('mail: idempotent delivery per mailbox, unread filter, read flags', async (t) => {
    const store = await fresh(t, open);
    const raw = new TextEncoder().encode('From: operator@sandboxes.km.internal\r\nSubject: hi\r\n\r\nbody\x00\xff');
    const mail = (messageId: string, mailbox: string, receivedAtMs: number) => ({
      mailbox,
      messageId,
      receivedAtMs,
      senderId: 'operator',
      fromAddress: 'operator@sandboxes.km.internal',
      to: [`${mailbox}@sandboxes.km.internal`],
      subject: `s-${messageId}`,
      signature: 'verified' as const,
      encrypted: false,
      raw,
    });
    assert.equal(await store.deliverMail(mail('<b@km>', 'sb-a', T0 + 2)), true);
    assert.equal(await store.deliverMail(mail('<a@km>', 'sb-a', T0 + 1)), true);
    assert.equal(await store.deliverMail(mail('<a@km>', 'sb-a', T0 + 1)), false, 'redelivery is a no-op');
    assert.equal(await store.deliverMail(mail('<a@km>', 'sb-b', T0 + 1)), true, 'same message, other mailbox');
    const list = await store.listMail('sb-a');
    assert.deepEqual(list.map((m) => [m.messageId, m.read]), [['<a@km>', false], ['<b@km>', false]]);
    assert.deepEqual(list[0]?.raw, raw);
    assert.deepEqual(list[0]?.to, ['sb-a@sandboxes.km.internal']);
    assert.equal(await store.markMailRead('sb-a', ['<a@km>', '<nope@km>']), 1);
    assert.equal(await store.markMailRead('sb-a', ['<a@km>']), 0);
    assert.deepEqual((await store.listMail('sb-a', { unreadOnly: true })).map((m) => m.messageId), ['<b@km>']);
    assert.equal((await store.getMail('sb-b', '<a@km>'))?.read, false, 'read flags are per mailbox');
    assert.equal(await store.deleteMailbox('sb-a'), 2);
    assert.deepEqual(await store.listMail('sb-a'), []);
  });

  test('integrity check reports the schema version; purge removes a sandbox and its history', async (t) => {
    const store = await fresh(t, open);
    const report = await store.checkIntegrity();
    assert.equal(report.ok, true, report.message);
    assert.ok(report.schemaVersion >= 1);
    const sb = await store.insertSandbox(sandboxInput());
    const keep = await store.insertSandbox(sandboxInput());
    for (const id of [sb.id, keep.id]) {
      await store.upsertUsage(id, 'x', usage());
      await store.createRun(id, { agent: 'claude', prompt: 'p', atMs: T0 });
      await store.appendEvents([{ timestampMs: T0, sandboxId: id, eventType: 'x', source: 'km', detail: {} }]);
      await store.deliverMail({ mailbox: id, messageId: '<m@km>', receivedAtMs: T0, senderId: null, fromAddress: 'a@b.c', to: [], subject: '', signature: 'plain', encrypted: false, raw: new Uint8Array([1]) });
    }
    await store.purgeSandbox(sb.id);
    assert.equal(await store.getSandbox(sb.id), undefined);
    assert.deepEqual([await store.listUsage(sb.id), await store.listRuns(sb.id), await store.queryEvents({ sandboxId: sb.id })], [[], [], []]);
    assert.equal(await store.getBudget(sb.id), undefined);
    assert.equal((await store.listUsage(keep.id)).length, 1);
    assert.equal((await store.queryEvents({ sandboxId: keep.id })).length, 1);
    assert.deepEqual([(await store.listMail(sb.id)).length, (await store.listMail(keep.id)).length], [0, 1]);
  });
}
