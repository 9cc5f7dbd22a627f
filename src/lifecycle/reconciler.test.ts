import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicSpec, harness, profileOf, request } from '../sandbox/test-harness.ts';
import { createReconciler } from './reconciler.ts';
import { decideTeardown } from './decide.ts';

const setup = async () => {
  const h = await harness();
  const r = createReconciler({ store: h.store, service: h.service, events: h.events, clock: h.clock }, { manual: true });
  return { h, r, close: async () => { await r.close(); await h.close(); } };
};

test('TTL expiry with teardownPolicy destroy destroys on the next tick, not before', async (t) => {
  const { h, r, close } = await setup();
  t.after(close);
  await h.service.create(request(profileOf('basic', basicSpec('{ ttl: "10m", idleTimeout: "0", teardownPolicy: destroy }')), { alias: 'demo' }));
  h.clock.advance(10 * 60_000 - 1);
  assert.deepEqual(await r.tick(), []);
  assert.equal((await h.service.resolve('demo')).status, 'running');
  h.clock.advance(1);
  const done = await r.tick();
  assert.deepEqual(done.map((d) => [d.trigger, d.action]), [['ttl', 'destroy']]);
  const s = await h.store.getSandboxByAlias('demo', { includeDestroyed: true });
  assert.equal(s?.status, 'destroyed');
  const ev = await h.store.queryEvents({ sandboxId: s!.id, types: ['lifecycle.destroyed'] });
  assert.deepEqual(ev.map((e) => [e.source, e.detail.actor, e.detail.reason]), [['kmd', 'ttl', 'ttl expired']]);
});

test('teardownPolicy stop pauses under hibernation on local, stops otherwise; resume after a ttl stop gets a fresh expiry', async (t) => {
  const { h, r, close } = await setup();
  t.after(close);
  const stop = '{ ttl: "1h", idleTimeout: "0", teardownPolicy: stop }';
  await h.service.create(request(profileOf('hib', `${basicSpec(stop)}  runtime: { hibernation: true }\n`), { alias: 'hib' }));
  await h.service.create(request(profileOf('plain', basicSpec(stop)), { alias: 'plain' }));
  h.clock.advance(3_600_000);
  await r.tick();
  const hib = await h.service.resolve('hib');
  assert.deepEqual([hib.status, hib.pausedBy], ['paused', 'ttl']);
  const plain = await h.service.resolve('plain');
  assert.deepEqual([plain.status, plain.statusReason], ['stopped', 'ttl expired']);
  assert.deepEqual(await r.tick(), [], 'nothing more to do once applied');
  h.clock.advance(60_000);
  const resumed = await h.service.resume('plain');
  assert.equal(resumed.sandbox.expires_at, new Date(h.clock.now() + 3_600_000).toISOString().replace('.000', ''));
});

test('retain records one expired event and changes nothing', async (t) => {
  const { h, r, close } = await setup();
  t.after(close);
  const j = await h.service.create(request(profileOf('keep', basicSpec('{ ttl: "5m", idleTimeout: "0", teardownPolicy: retain }')), { alias: 'keep' }));
  h.clock.advance(5 * 60_000);
  await r.tick();
  await r.tick();
  assert.equal((await h.service.resolve('keep')).status, 'running');
  const ev = await h.store.queryEvents({ sandboxId: j.id, types: ['lifecycle.expired'] });
  assert.equal(ev.length, 1);
  assert.equal((await h.service.list())[0]?.ttl_remaining_s, 0);
});

test('locked sandboxes are never torn down; the skipped action is recorded once', async (t) => {
  const { h, r, close } = await setup();
  t.after(close);
  const j = await h.service.create(request(profileOf('basic', basicSpec('{ ttl: "5m", idleTimeout: "0", teardownPolicy: destroy }')), { alias: 'demo' }));
  await h.service.lock('demo', true);
  h.clock.advance(6 * 60_000);
  await r.tick();
  await r.tick();
  assert.equal((await h.service.resolve('demo')).status, 'running');
  const ev = await h.store.queryEvents({ sandboxId: j.id, types: ['lifecycle.teardown_skipped'] });
  assert.deepEqual(ev.map((e) => [e.detail.reason, e.detail.action, e.detail.locked]), [['ttl expired', 'destroy', true]]);
  await h.service.lock('demo', false);
  await r.tick();
  assert.equal((await h.store.getSandbox(j.id))?.status, 'destroyed');
});

test('idle timeout counts from the later of the last activity and the last start', async (t) => {
  const { h, r, close } = await setup();
  t.after(close);
  const j = await h.service.create(request(profileOf('idle', basicSpec('{ ttl: "0", idleTimeout: "30m", teardownPolicy: stop }')), { alias: 'idle' }));
  h.clock.advance(20 * 60_000);
  await h.store.recordActivity(j.id, h.clock.now());
  h.clock.advance(29 * 60_000);
  assert.deepEqual(await r.tick(), []);
  assert.equal((await h.service.list())[0]?.idle_remaining_s, 60);
  h.clock.advance(60_000);
  const done = await r.tick();
  assert.deepEqual(done.map((d) => [d.trigger, d.action]), [['idle', 'stop']]);
  const s = await h.service.resolve('idle');
  assert.deepEqual([s.status, s.statusReason], ['stopped', 'idle timeout']);
  assert.equal(decideTeardown(s, h.clock.now() + 86_400_000), null, 'a stopped sandbox is not idle');
});
