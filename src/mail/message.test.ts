import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentityKeys } from './crypto.ts';
import { composeMessage, decryptParsed, parseMessage, verifyParsed } from './message.ts';

const sender = generateIdentityKeys();
const recipient = generateIdentityKeys();
const base = {
  from: { address: 'sb-aaaaaaaa@sandboxes.km.internal', name: 'build.web' },
  to: ['sb-bbbbbbbb@sandboxes.km.internal'],
  cc: ['operator@sandboxes.km.internal'],
  subject: 'results',
  text: 'All 42 tests pass.\nSee attached.\n',
  attachments: [{ filename: 'out.txt', content: Buffer.from('binary\x00data') }],
  senderId: 'sb-aaaaaaaa',
  messageId: '<m1@sandboxes.km.internal>',
  date: new Date('2027-03-03T08:15:02Z'),
};

test('a signed message is standard RFC 5322 and verifies after a parse round trip', async () => {
  const raw = await composeMessage({ ...base, signWith: sender.signingPrivateKeyPem });
  const text = raw.toString();
  assert.match(text, /^X-KM-Sender-ID: sb-aaaaaaaa$/m);
  assert.match(text, /^X-KM-Signature: [A-Za-z0-9+/=]{80,}$/m);
  assert.match(text, /^Message-ID: <m1@sandboxes\.km\.internal>$/m);
  const p = await parseMessage(raw);
  assert.equal(p.subject, 'results');
  assert.equal(p.fromName, 'build.web');
  assert.deepEqual(p.to, ['sb-bbbbbbbb@sandboxes.km.internal']);
  assert.equal(p.attachments[0]?.content.toString(), 'binary\x00data');
  assert.equal(verifyParsed(p, sender.signingPublicKey), 'valid');
  assert.equal(verifyParsed(p, recipient.signingPublicKey), 'invalid');
});

test('tampering with body, subject or an attachment is detected', async () => {
  const raw = (await composeMessage({ ...base, signWith: sender.signingPrivateKeyPem })).toString();
  const tamperedSubject = raw.replace('Subject: results', 'Subject: result5');
  assert.equal(verifyParsed(await parseMessage(tamperedSubject), sender.signingPublicKey), 'invalid');
  const p = await parseMessage(raw);
  assert.equal(verifyParsed({ ...p, text: p.text + 'x' }, sender.signingPublicKey), 'invalid');
  assert.equal(verifyParsed({ ...p, attachments: [{ filename: 'out.txt', content: Buffer.from('other') }] }, sender.signingPublicKey), 'invalid');
  assert.equal(verifyParsed({ ...p, signature: null }, sender.signingPublicKey), 'absent');
});

test('encrypted mail hides body and attachments, verifies without the key, decrypts with it', async () => {
  const raw = await composeMessage({ ...base, signWith: sender.signingPrivateKeyPem, encryptTo: recipient.encryptionPublicKey });
  const text = raw.toString();
  assert.match(text, /^X-KM-Encrypted: true$/m);
  assert.ok(!text.includes('All 42 tests'), 'body not in clear');
  assert.ok(!text.includes('out.txt'), 'attachment name not in clear');
  assert.match(text, /^Subject: results$/m);
  const p = await parseMessage(raw);
  assert.equal(p.encrypted, true);
  assert.equal(verifyParsed(p, sender.signingPublicKey), 'valid');
  const inner = await decryptParsed(p, { publicKey: recipient.encryptionPublicKey, secretKey: recipient.encryptionSecretKey });
  assert.equal(inner?.text.trim(), 'All 42 tests pass.\nSee attached.');
  assert.equal(inner?.attachments[0]?.filename, 'out.txt');
  assert.equal(inner?.attachments[0]?.content.toString(), 'binary\x00data');
  assert.equal(await decryptParsed(p, { publicKey: sender.encryptionPublicKey, secretKey: sender.encryptionSecretKey }), undefined);
});
