/** Contract: sandbox rows (SPEC §8.1–8.3, §15.4). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, kmError, sandboxInput, T0, type OpenStore } from './contract-helpers.ts';
import type { Store } from './store.ts';

const destroy = (store: Store, id: string, atMs = T0 + 1000) =>
  store.transition(id, ['creating', 'running', 'paused', 'stopped', 'failed', 'lost'], 'destroyed', {}, { atMs });

export function sandboxContract(open: OpenStore): void {
  test('insert assigns numbers and every field round-trips', async (t) => {
    const store = await fresh(t, open);
    const input = sandboxInput({
      alias: 'demo',
      region: 'eu-west-1',
      expiresAtMs: T0 + 8 * 3600_000,
      idleTimeoutS: 1800,
      maxExpiresAtMs: T0 + 3 * 86400_000,
      clonedFrom: 'sb-00000001',
      image: 'img-1',
      enforcementEffective: 'proxy',
      aiLimitUsd: 2,
      computeLimitUsd: 1,
      warningThreshold: 0.75,
      emailAddress: 'x@sandboxes.km.internal',
      createdBy: 'clone',
      profile: { spec: { nested: [1, 'two', { three: true }] } },
    });
    const a = await store.insertSandbox(input);
    const b = await store.insertSandbox(sandboxInput());
    assert.deepEqual([a.number, b.number], [1, 2]);
    assert.equal(a.status, 'creating');
    assert.equal(a.locked, false);
    assert.equal(a.lockedAtMs, null);
    assert.deepEqual(a.profile, input.profile);
    const got = await store.getSandbox(a.id);
    assert.deepEqual(got, a);
    for (const k of ['alias', 'region', 'expiresAtMs', 'idleTimeoutS', 'maxExpiresAtMs', 'clonedFrom', 'image', 'aiLimitUsd', 'computeLimitUsd', 'warningThreshold', 'emailAddress', 'createdBy'] as const) {
      assert.deepEqual(got?.[k], input[k], k);
    }
    assert.equal(got?.createdAtMs, T0);
    assert.equal(await store.getSandbox('sb-ffffffff'), undefined);
  });

  test('lookups by alias are case-insensitive and by number only see live sandboxes', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ alias: 'demo' }));
    assert.equal((await store.getSandboxByAlias('DEMO'))?.id, a.id);
    assert.equal((await store.getSandboxByNumber(1))?.id, a.id);
    await destroy(store, a.id);
    assert.equal(await store.getSandboxByAlias('demo'), undefined);
    assert.equal((await store.getSandboxByAlias('demo', { includeDestroyed: true }))?.id, a.id);
    assert.equal(await store.getSandboxByNumber(1), undefined);
    assert.equal((await store.getSandbox(a.id))?.status, 'destroyed');
  });

  test('aliases are unique among non-destroyed sandboxes and freed at destroy', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ alias: 'demo' }));
    await assert.rejects(store.insertSandbox(sandboxInput({ alias: 'demo' })), kmError('usage', new RegExp(`alias "demo" is already used by ${a.id} \\(#1\\)`)));
    assert.equal(await store.countActiveSandboxes(), 1);
    await destroy(store, a.id);
    const b = await store.insertSandbox(sandboxInput({ alias: 'demo' }));
    assert.equal((await store.getSandboxByAlias('demo'))?.id, b.id);
    assert.equal((await store.getSandboxByAlias('demo', { includeDestroyed: true }))?.id, b.id);
  });

  test('invalid ids and aliases are refused', async (t) => {
    const store = await fresh(t, open);
    await assert.rejects(store.insertSandbox(sandboxInput({ id: 'SB-1' })), kmError('usage', /invalid sandbox id/));
    await assert.rejects(store.insertSandbox(sandboxInput({ alias: 'sb-12345678' })), kmError('usage', /invalid alias/));
    await assert.rejects(store.insertSandbox(sandboxInput({ alias: 'Demo' })), kmError('usage', /invalid alias/));
    const a = await store.insertSandbox(sandboxInput());
    await assert.rejects(store.insertSandbox(sandboxInput({ id: a.id })), kmError('invalid_state', /never reused/));
    await destroy(store, a.id);
    await assert.rejects(store.insertSandbox(sandboxInput({ id: a.id })), kmError('invalid_state', /never reused/));
  });

  test('local numbers are never reused while any sandbox exists and restart at 1', async (t) => {
    const store = await fresh(t, open);
    const [s1, s2, s3] = [await store.insertSandbox(sandboxInput()), await store.insertSandbox(sandboxInput()), await store.insertSandbox(sandboxInput())];
    await destroy(store, s3!.id);
    assert.equal((await store.insertSandbox(sandboxInput())).number, 4, 'the highest number, destroyed, is not reused');
    await destroy(store, s2!.id);
    assert.equal((await store.insertSandbox(sandboxInput())).number, 5, 'gaps are not refilled');
    for (const s of await store.listSandboxes()) await destroy(store, s.id);
    assert.equal(await store.countActiveSandboxes(), 0);
    assert.equal((await store.insertSandbox(sandboxInput())).number, 1, 'restart at 1 when none exist');
    assert.equal((await store.insertSandbox(sandboxInput())).number, 2);
    assert.equal((await store.getSandbox(s1!.id))?.number, 1, 'destroyed rows keep their number for history');
  });

  test('maxActive refuses past the limit, counting only non-destroyed sandboxes', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput(), { maxActive: 2 });
    await store.insertSandbox(sandboxInput(), { maxActive: 2 });
    await assert.rejects(store.insertSandbox(sandboxInput(), { maxActive: 2 }), kmError('limit_reached', /limit reached: 2 of 2 sandboxes exist; destroy one or raise max_sandboxes/));
    await destroy(store, a.id);
    assert.equal((await store.insertSandbox(sandboxInput(), { maxActive: 2 })).number, 3);
  });

  test('list orders by number, hides destroyed unless asked, filters by status', async (t) => {
    const store = await fresh(t, open);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await store.insertSandbox(sandboxInput({ status: i === 3 ? 'running' : 'creating' }))).id);
    await destroy(store, ids[0]!);
    assert.deepEqual((await store.listSandboxes()).map((s) => s.number), [2, 3, 4]);
    assert.deepEqual((await store.listSandboxes({ includeDestroyed: true })).map((s) => s.id), [ids[1], ids[2], ids[3], ids[0]]);
    assert.deepEqual((await store.listSandboxes({ statuses: ['running'] })).map((s) => s.id), [ids[3]]);
    assert.deepEqual((await store.listSandboxes({ statuses: ['destroyed'] })).map((s) => s.id), [ids[0]]);
    assert.equal(await store.countActiveSandboxes(), 3);
  });

  test('transition is compare-and-set and names the current status on a mismatch', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ alias: 'demo' }));
    const r = await store.transition(a.id, ['creating'], 'running', { lastStartedAtMs: T0 + 5 }, { atMs: T0 + 5 });
    assert.equal(r.status, 'running');
    assert.equal(r.lastStartedAtMs, T0 + 5);
    assert.equal(r.updatedAtMs, T0 + 5);
    const p = await store.transition(a.id, ['running'], 'paused', { pausedBy: 'budget', statusReason: 'compute budget spent' }, { atMs: T0 + 6 });
    assert.deepEqual([p.status, p.pausedBy, p.statusReason], ['paused', 'budget', 'compute budget spent']);
    await assert.rejects(store.transition(a.id, ['running'], 'stopped', {}, { atMs: T0 + 7 }), (e: unknown) => {
      kmError('invalid_state', /demo is paused \(by budget\)/)(e);
      assert.equal((e as { details?: Record<string, unknown> }).details?.current_status, 'paused');
      return true;
    });
    const resumed = await store.transition(a.id, ['paused'], 'running', {}, { atMs: T0 + 8 });
    assert.deepEqual([resumed.pausedBy, resumed.statusReason], [null, null], 'reason and paused_by describe the current status only');
    await store.transition(a.id, ['running'], 'destroying', {}, { atMs: T0 + 9 });
    await assert.rejects(store.transition(a.id, ['running'], 'stopped', {}, { atMs: T0 + 10 }), kmError('invalid_state', /demo is being destroyed/));
    const d = await store.transition(a.id, ['destroying'], 'destroyed', {}, { atMs: T0 + 11 });
    assert.equal(d.destroyedAtMs, T0 + 11);
    await assert.rejects(store.transition(a.id, ['destroyed'], 'running', {}, { atMs: T0 + 12 }), kmError('invalid_state', /was destroyed/));
    await assert.rejects(store.transition('sb-ffffffff', ['running'], 'stopped', {}, { atMs: T0 }), kmError('not_found'));
  });

  test('racing transitions: exactly one wins, the others get invalid_state', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ status: 'running' }));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.transition(a.id, ['running'], i % 2 === 0 ? 'destroying' : 'stopped', {}, { atMs: T0 + i })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') kmError('invalid_state')(r.reason);
  });

  test('lock reports what changed; requireUnlocked refuses atomically', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ alias: 'demo', status: 'running' }));
    assert.deepEqual(await store.setLocked(a.id, false, T0), { changed: false, locked: false, lockedAtMs: null });
    assert.deepEqual(await store.setLocked(a.id, true, T0 + 1), { changed: true, locked: true, lockedAtMs: T0 + 1 });
    assert.deepEqual(await store.setLocked(a.id, true, T0 + 2), { changed: false, locked: true, lockedAtMs: T0 + 1 });
    await assert.rejects(
      store.transition(a.id, ['running'], 'destroying', {}, { atMs: T0 + 3, requireUnlocked: true }),
      kmError('sandbox_locked', /demo is locked \(since 2027-03-03T08:15:00Z\); run km unlock demo first/),
    );
    assert.equal((await store.getSandbox(a.id))?.status, 'running', 'nothing applied');
    assert.equal((await store.transition(a.id, ['running'], 'paused', { pausedBy: 'operator' }, { atMs: T0 + 4 })).locked, true, 'lock does not block unflagged transitions');
    assert.deepEqual(await store.setLocked(a.id, false, T0 + 5), { changed: true, locked: false, lockedAtMs: null });
    const s = await store.getSandbox(a.id);
    assert.deepEqual([s?.locked, s?.lockedAtMs], [false, null]);
  });

  test('timers and activity are targeted updates', async (t) => {
    const store = await fresh(t, open);
    const a = await store.insertSandbox(sandboxInput({ status: 'running', expiresAtMs: T0 + 1000, idleTimeoutS: 60 }));
    const r = await store.setTimers(a.id, { expiresAtMs: T0 + 5000 }, T0 + 1);
    assert.deepEqual([r.expiresAtMs, r.idleTimeoutS], [T0 + 5000, 60]);
    assert.equal((await store.setTimers(a.id, { idleTimeoutS: null }, T0 + 2)).idleTimeoutS, null);
    assert.equal(await store.recordActivity(a.id, T0 + 100), true);
    assert.equal(await store.recordActivity(a.id, T0 + 50), false, 'never moves backwards');
    assert.equal((await store.getSandbox(a.id))?.lastActivityAtMs, T0 + 100);
    await store.setLocked(a.id, true, T0 + 3);
    assert.equal((await store.getSandbox(a.id))?.expiresAtMs, T0 + 5000, 'lock did not clobber the timer');
    await destroy(store, a.id);
    await assert.rejects(store.setTimers(a.id, { expiresAtMs: T0 }, T0 + 4), kmError('invalid_state'));
  });
}
