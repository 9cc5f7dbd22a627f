import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSandboxCa } from '../gateway/index.ts';
import { createReconciler } from '../lifecycle/index.ts';
import { createCaRenewer } from './ca-renewal.ts';
import { sandboxPaths, splitPemCerts } from './files.ts';
import { basicSpec, harness, profileOf, request } from './test-harness.ts';

const DAY = 86_400_000;
const colon = (hex: string): string => (hex.toUpperCase().match(/../g) ?? []).join(':');
const fp = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

test('a CA under 14 days from expiry is renewed; old and new are trusted until the old expires', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const set: string[] = [];
  const renewer = createCaRenewer({
    kmHome: h.dir, clock: h.clock, events: h.events,
    gateway: (id) => {
      const g = h.gateways.get(id);
      return g && { setCa: (ca) => (set.push(ca.fingerprintSha256), g.setCa(ca)) };
    },
  });
  const r = createReconciler({ store: h.store, service: h.service, events: h.events, clock: h.clock, caRenewer: renewer }, { manual: true });
  t.after(() => r.close());
  const j = await h.service.create(request(profileOf('keep', basicSpec('{ ttl: "0", idleTimeout: "0", teardownPolicy: destroy }')), { alias: 'demo' }));
  const p = sandboxPaths(h.dir, j.id);
  // What the local substrate writes at create: the system roots plus the sandbox CA.
  const root = (await createSandboxCa('some-root', h.clock)).certPem;
  const original = readFileSync(p.caCert, 'utf8');
  mkdirSync(p.trustDir, { recursive: true });
  writeFileSync(join(p.trustDir, 'bundle.pem'), root + original);
  writeFileSync(join(p.trustDir, 'km-sandbox.crt'), original);

  h.clock.advance(76 * DAY);
  await r.tick();
  assert.equal(readFileSync(p.caCert, 'utf8'), original, 'exactly 14 days left: not yet');
  assert.deepEqual(set, []);

  h.clock.advance(DAY);
  await r.tick();
  const renewed = readFileSync(p.caCert, 'utf8');
  assert.notEqual(fp(renewed), fp(original));
  assert.equal(Date.parse(new X509Certificate(renewed).validTo), h.clock.now() + 90 * DAY - (h.clock.now() % 1000));
  assert.deepEqual(set, [fp(renewed)], 'the open gateway signs with the new CA');
  assert.deepEqual(splitPemCerts(readFileSync(join(p.trustDir, 'bundle.pem'), 'utf8')).map(fp), [fp(root), fp(renewed), fp(original)]);
  assert.deepEqual(splitPemCerts(readFileSync(join(p.trustDir, 'km-sandbox.crt'), 'utf8')).map(fp), [fp(renewed), fp(original)]);
  const st = await h.service.status('demo');
  assert.equal(st.ca?.fingerprint_sha256, fp(renewed));
  assert.deepEqual(st.ca?.previous.map((c) => c.fingerprint_sha256), [fp(original)]);
  const ev = await h.store.queryEvents({ sandboxId: j.id, types: ['ca.renewed'] });
  assert.deepEqual(ev.map((e) => [e.detail.fingerprint_sha256, e.detail.previous_fingerprint_sha256, e.detail.trust_updated]), [[colon(fp(renewed)), colon(fp(original)), true]]);

  h.clock.advance(DAY);
  await r.tick();
  assert.equal(readFileSync(p.caCert, 'utf8'), renewed, 'renewed once');

  h.clock.advance(13 * DAY); // the original CA (90 days) has now expired
  await r.tick();
  assert.deepEqual(splitPemCerts(readFileSync(join(p.trustDir, 'bundle.pem'), 'utf8')).map(fp), [fp(root), fp(renewed)]);
  assert.deepEqual((await h.service.status('demo')).ca?.previous, []);
  assert.equal((await h.store.queryEvents({ sandboxId: j.id, types: ['ca.renewed'] })).length, 1);
});

test('without a trust directory the CA is still renewed and the event says the trust files were not updated', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const renewer = createCaRenewer({ kmHome: h.dir, clock: h.clock, events: h.events, gateway: () => undefined });
  const j = await h.service.create(request(profileOf('keep', basicSpec('{ ttl: "0", idleTimeout: "0", teardownPolicy: destroy }'))));
  h.clock.advance(80 * DAY);
  const s = (await h.store.getSandbox(j.id))!;
  const res = await renewer.check(s);
  assert.deepEqual([res?.action, res?.trustUpdated], ['renewed', false]);
  assert.equal(await renewer.check(s), undefined);
});

test('resume after stop puts both CAs back into the trust files the substrate rewrote', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const renewer = createCaRenewer({ kmHome: h.dir, clock: h.clock, events: h.events, gateway: () => undefined });
  const j = await h.service.create(request(profileOf('keep', basicSpec('{ ttl: "0", idleTimeout: "0", teardownPolicy: destroy }')), { alias: 'demo' }));
  const p = sandboxPaths(h.dir, j.id);
  const root = (await createSandboxCa('some-root', h.clock)).certPem;
  const original = readFileSync(p.caCert, 'utf8');
  const substrateWrites = () => {
    mkdirSync(p.trustDir, { recursive: true });
    writeFileSync(join(p.trustDir, 'bundle.pem'), root + original);
    writeFileSync(join(p.trustDir, 'km-sandbox.crt'), original);
  };
  substrateWrites();
  await h.service.stop('demo');
  await h.service.resume('demo');
  assert.equal(readFileSync(join(p.trustDir, 'bundle.pem'), 'utf8'), root + original, 'never renewed: the substrate\'s files stay as written');

  h.clock.advance(80 * 86_400_000);
  await renewer.check((await h.store.getSandbox(j.id))!);
  const renewed = readFileSync(p.caCert, 'utf8');
  await h.service.stop('demo');
  substrateWrites(); // a start from stopped rewrites them from the create-time CA
  await h.service.resume('demo');
  assert.deepEqual(splitPemCerts(readFileSync(join(p.trustDir, 'bundle.pem'), 'utf8')).map(fp), [fp(root), fp(renewed), fp(original)]);
  assert.deepEqual(splitPemCerts(readFileSync(join(p.trustDir, 'km-sandbox.crt'), 'utf8')).map(fp), [fp(renewed), fp(original)]);
});
