import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identityAddress, identityJson, mailDomain, mailPolicyOf, operatorAddress, renderIdentity } from './index.ts';

test('addresses: {id}@{email_subdomain}.{domain}, sandboxes.km.internal without a domain', () => {
  assert.equal(identityAddress('sb-81f0c3aa', {}), 'sb-81f0c3aa@sandboxes.km.internal');
  assert.equal(identityAddress('sb-81f0c3aa', { emailSubdomain: 'agents', domain: 'acme.dev' }), 'sb-81f0c3aa@agents.acme.dev');
  assert.equal(mailDomain({ emailSubdomain: 'box' }), 'box.km.internal');
  assert.equal(operatorAddress({}), 'operator@sandboxes.km.internal');
  assert.equal(operatorAddress({ operatorEmail: 'ops@acme.dev' }), 'ops@acme.dev');
});

test('profile email sections become policies with the documented defaults', () => {
  assert.deepEqual(mailPolicyOf(undefined), { signing: 'optional', verifyInbound: 'optional', encryption: 'off', allowedSenders: ['*'] });
  assert.deepEqual(mailPolicyOf({ signing: 'required', encryption: 'optional', allowedSenders: [] }), { signing: 'required', verifyInbound: 'optional', encryption: 'optional', allowedSenders: [] });
});

test('identity JSON has exactly the keys of SPEC §12.1', () => {
  const r = { id: 'sb-1', alias: 'ci.web', emailAddress: 'sb-1@sandboxes.km.internal', signingPublicKey: 'S', encryptionPublicKey: null, signing: 'required', verifyInbound: 'off', encryption: 'off', allowedSenders: [], updatedAtMs: 0 };
  assert.deepEqual(identityJson(r), { id: 'sb-1', email_address: 'sb-1@sandboxes.km.internal', alias: 'ci.web', signing_public_key: 'S', encryption_public_key: null, signing: 'required', verify_inbound: 'off', encryption: 'off', allowed_senders: [] });
  assert.match(renderIdentity(r), /^allowed senders: \(operator only\)$/m);
});
