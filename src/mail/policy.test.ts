import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inboundDecision, planOutgoing, senderAllowed, type SenderIdentity } from './policy.ts';

const sb = (id: string, alias: string | null = null): SenderIdentity => ({ id, alias, address: `${id}@sandboxes.km.internal` });
const ext = (address: string): SenderIdentity => ({ id: null, alias: null, address });

test('allowedSenders patterns (SPEC §12.4)', () => {
  const self = 'sb-11111111';
  const cases: Array<[string[], SenderIdentity, boolean]> = [
    [['*'], ext('x@y.z'), true],
    [['self'], sb(self), true],
    [['self'], sb('sb-22222222'), false],
    [['sb-22222222'], sb('SB-22222222'), true],
    [['build.*'], sb('sb-33333333', 'build.web'), true],
    [['build.*'], sb('sb-33333333', 'deploy.web'), false],
    [['BUILD.WEB'], sb('sb-33333333', 'build.web'), true],
    [['*@acme.dev'], ext('Alerts@ACME.dev'), true],
    [['*@acme.dev'], sb('sb-33333333', 'acme.dev'), false],
    [['alerts@*'], ext('alerts@example.org'), true],
    [['alerts@*'], ext('other@example.org'), false],
    [['build.*'], ext('build.web@x.y'), false],
    [[], sb('sb-44444444'), false],
    [[], { id: 'operator', alias: null, address: 'op@x' }, true],
  ];
  for (const [patterns, sender, want] of cases) assert.equal(senderAllowed(patterns, sender, self).allow, want, `${JSON.stringify(patterns)} vs ${sender.address}/${sender.alias}`);
  assert.equal(senderAllowed(['x', 'build.*'], sb('sb-3', 'build.a'), self).rule, 'email.allowedSenders[1]');
});

test('outgoing plan: signing and encryption policies', () => {
  const keyed = { id: 'sb-1', hasEncryptionKey: true, label: 'demo' };
  const unkeyed = { id: 'sb-2', hasEncryptionKey: false, label: 'sb-2' };
  const external = { id: null, hasEncryptionKey: false, label: 'a@b.c' };
  assert.deepEqual(planOutgoing({ signing: 'required', encryption: 'required' }, { noSign: false, recipient: keyed }), { ok: true, plan: { sign: true, encrypt: true } });
  const r1 = planOutgoing({ signing: 'required', encryption: 'off' }, { noSign: true, recipient: keyed });
  assert.equal(r1.ok, false);
  assert.deepEqual(planOutgoing({ signing: 'optional', encryption: 'off' }, { noSign: true, recipient: keyed }), { ok: true, plan: { sign: false, encrypt: false } });
  const r2 = planOutgoing({ signing: 'optional', encryption: 'required' }, { noSign: false, recipient: unkeyed });
  assert.equal(r2.ok === false && r2.message, 'cannot encrypt for sb-2: it has no encryption key');
  assert.equal(planOutgoing({ signing: 'off', encryption: 'required' }, { noSign: false, recipient: external }).ok, false);
  assert.deepEqual(planOutgoing({ signing: 'off', encryption: 'optional' }, { noSign: false, recipient: unkeyed }), { ok: true, plan: { sign: false, encrypt: false } });
  assert.deepEqual(planOutgoing({ signing: 'off', encryption: 'optional' }, { noSign: false, recipient: keyed }), { ok: true, plan: { sign: false, encrypt: true } });
});

test('inbound verification policy', () => {
  assert.deepEqual(inboundDecision('required', 'valid'), { deliver: true, status: 'verified' });
  assert.equal(inboundDecision('required', 'absent').deliver, false);
  assert.equal(inboundDecision('required', 'invalid').deliver, false);
  assert.deepEqual(inboundDecision('optional', 'invalid'), { deliver: true, status: 'failed' });
  assert.deepEqual(inboundDecision('optional', 'absent'), { deliver: true, status: 'plain' });
  assert.deepEqual(inboundDecision('off', 'invalid'), { deliver: true, status: 'unchecked' });
});
