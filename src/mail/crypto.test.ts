import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'libsodium-wrappers';
import { canonicalText, generateIdentityKeys, openSealed, sealTo, signMail, verifyMail, type SignedFields } from './crypto.ts';

const fields: SignedFields = {
  senderId: 'sb-5e0c9a12',
  recipients: ['B@x.test', 'a@x.test'],
  subject: 'results',
  attachments: [{ filename: 'out.tar.gz', sha256: 'ab'.repeat(32) }],
  body: 'line one\r\nline two\r\n\r\n',
};

test('canonical text: version line, sorted lowercase recipients, LF bodies without trailing newlines', () => {
  assert.equal(canonicalText(fields), `km-mail-sig/1\nsb-5e0c9a12\na@x.test,b@x.test\nresults\n${'ab'.repeat(32)} out.tar.gz\nline one\nline two`);
  assert.equal(canonicalText({ ...fields, body: 'line one\nline two' }), canonicalText(fields), 'transport line endings do not matter');
});

test('sign and verify; any tampering fails', () => {
  const k = generateIdentityKeys();
  const sig = signMail(k.signingPrivateKeyPem, fields);
  assert.equal(verifyMail(k.signingPublicKey, sig, fields), true);
  assert.equal(verifyMail(k.signingPublicKey, sig, { ...fields, body: 'line one\nline 2' }), false);
  assert.equal(verifyMail(k.signingPublicKey, sig, { ...fields, subject: 'result' }), false);
  assert.equal(verifyMail(k.signingPublicKey, sig, { ...fields, recipients: ['a@x.test'] }), false);
  assert.equal(verifyMail(k.signingPublicKey, sig, { ...fields, attachments: [] }), false);
  assert.equal(verifyMail(k.signingPublicKey, sig, { ...fields, senderId: 'sb-00000000' }), false);
  assert.equal(verifyMail(generateIdentityKeys().signingPublicKey, sig, fields), false, 'another key');
  assert.equal(verifyMail(k.signingPublicKey, 'not-base64!', fields), false);
});

test('sealed box round trip and tamper detection', () => {
  const k = generateIdentityKeys();
  const msg = Buffer.from('secret inner MIME entity');
  const sealed = sealTo(k.encryptionPublicKey, msg);
  assert.equal(sealed.length, msg.length + 48);
  assert.deepEqual(openSealed(k.encryptionPublicKey, k.encryptionSecretKey, sealed), msg);
  const bad = Buffer.from(sealed);
  bad[40] = (bad[40] as number) ^ 1;
  assert.equal(openSealed(k.encryptionPublicKey, k.encryptionSecretKey, bad), undefined);
  const other = generateIdentityKeys();
  assert.equal(openSealed(other.encryptionPublicKey, other.encryptionSecretKey, sealed), undefined);
});

test('sealed boxes interoperate with libsodium in both directions', async () => {
  await sodium.ready;
  const k = generateIdentityKeys();
  const pk = Buffer.from(k.encryptionPublicKey, 'base64');
  const sk = Buffer.from(k.encryptionSecretKey, 'base64');
  const ours = sealTo(k.encryptionPublicKey, Buffer.from('from km'));
  assert.equal(Buffer.from(sodium.crypto_box_seal_open(ours, pk, sk)).toString(), 'from km');
  const theirs = sodium.crypto_box_seal(Buffer.from('from libsodium'), pk);
  assert.equal(openSealed(k.encryptionPublicKey, k.encryptionSecretKey, theirs)?.toString(), 'from libsodium');
});

test('encryption keys are nacl.box keys: the public key is the secret key\'s X25519 point', async () => {
  const nacl = (await import('tweetnacl')).default;
  for (let i = 0; i < 20; i++) {
    const k = generateIdentityKeys();
    const secret = Buffer.from(k.encryptionSecretKey, 'base64');
    assert.equal(secret.length, 32);
    assert.equal(Buffer.from(nacl.box.keyPair.fromSecretKey(secret).publicKey).toString('base64'), k.encryptionPublicKey);
  }
  const a = generateIdentityKeys();
  assert.notEqual(a.encryptionSecretKey, generateIdentityKeys().encryptionSecretKey);
});
