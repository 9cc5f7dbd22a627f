import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { identityKeysDir } from '../identity/index.ts';
import { mailKit } from './test-kit.ts';

const code = (c: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof KmError, String(e));
  assert.equal(e.code, c, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

test('operator → sandbox: signed, encrypted when the sender policy asks, verified and decrypted on read, read flags', async (t) => {
  const k = await mailKit(t);
  const demo = await k.sandbox('demo');
  const sent = await k.mail.send({ from: 'operator', to: ['demo'], subject: 'hello', text: 'line one\nline two\n', attachments: [{ filename: 'a.txt', content: Buffer.from('attached') }] });
  assert.equal(sent.signed, true);
  assert.equal(sent.encrypted, true, 'the operator encrypts when the recipient has a key');
  assert.deepEqual(sent.deliveries.map((d) => [d.recipient, d.status, d.signature]), [[demo.id, 'delivered', 'verified']]);
  const stored = await k.store.listMail(demo.id);
  assert.equal(stored.length, 1);
  assert.doesNotMatch(Buffer.from(stored[0]!.raw).toString(), /line one/, 'stored as ciphertext');
  const [m] = await k.mail.read(demo.id);
  assert.equal(m?.json.body, 'line one\nline two\n');
  assert.equal(m?.json.signature, 'verified');
  assert.equal(m?.json.encrypted, true);
  assert.equal(m?.json.read, false);
  assert.deepEqual(m?.json.attachments.map((a) => [a.filename, a.size]), [['a.txt', 8]]);
  assert.equal(m?.json.sender_id, 'operator');
  const marked = await k.mail.read(demo.id, { unreadOnly: true, markRead: true });
  assert.equal(marked[0]?.json.read, true);
  assert.deepEqual(await k.mail.read(demo.id, { unreadOnly: true }), []);
  const one = await k.mail.read(demo.id, { messageId: sent.message_id.slice(1, -1) });
  assert.equal(one[0]?.json.message_id, sent.message_id, 'ids work without angle brackets');
  await assert.rejects(k.mail.read(demo.id, { messageId: 'nope@x', label: 'demo' }), code('not_found', /no message <nope@x> for demo/));
  const events = await k.store.queryEvents({ types: ['mail.*'] });
  assert.deepEqual(events.map((e) => [e.sandboxId, e.eventType]), [[demo.id, 'mail.delivered'], ['operator', 'mail.sent']]);
});

test('sandbox → sandbox: allowedSenders and verifyInbound are applied at delivery; the sender gets a failure notice', async (t) => {
  const k = await mailKit(t);
  const web = await k.sandbox('web', {}, 'build.web');
  const ci = await k.sandbox('ci', { allowedSenders: ['build.*'] });
  const locked = await k.sandbox('locked', { allowedSenders: [] });
  const strict = await k.sandbox('strict', { verifyInbound: 'required' });
  const r = await k.mail.send({ from: web.id, to: [ci.id, 'locked'], cc: ['strict'], subject: 'report', text: 'ok' });
  assert.deepEqual(r.deliveries.map((d) => [d.recipient, d.status]), [[ci.id, 'delivered'], [locked.id, 'rejected'], [strict.id, 'delivered']]);
  assert.equal(r.deliveries[1]?.rule, 'email.allowedSenders (operator only)');
  k.clock.advance(1000);
  const unsigned = await k.mail.send({ from: web.id, to: ['strict'], subject: 'unsigned', text: 'x', noSign: true });
  assert.equal(unsigned.signed, false);
  assert.deepEqual(unsigned.deliveries.map((d) => [d.status, d.reason]), [['rejected', 'recipient requires signed mail']]);
  const fromCi = await k.mail.send({ from: ci.id, to: ['ci'], subject: 'self', text: 'x' });
  assert.equal(fromCi.deliveries[0]?.status, 'rejected', 'ci.* patterns do not include ci itself');
  const notices = await k.mail.read(web.id);
  assert.deepEqual(notices.map((n) => n.json.subject), ['Undelivered: report', 'Undelivered: unsigned']);
  assert.match(notices[0]!.json.body, new RegExp(`${locked.emailAddress}: ${web.id} is not an allowed sender for ${locked.id}`));
  assert.equal(notices[0]?.json.signature, 'verified');
  assert.equal(notices[0]?.json.sender_id, 'operator');
  const rejected = await k.store.queryEvents({ types: ['mail.rejected'] });
  assert.deepEqual(rejected.map((e) => e.sandboxId), [locked.id, strict.id, ci.id]);
  const opMail = await k.mail.send({ from: 'operator', to: ['locked'], subject: 'op', text: 'operator mail is always delivered' });
  assert.equal(opMail.deliveries[0]?.status, 'delivered');
  const [inCi] = await k.mail.read(ci.id);
  assert.equal(inCi?.json.from, web.emailAddress);
  assert.equal(inCi?.json.signature, 'verified');
  assert.equal(inCi?.json.encrypted, false);
});

test('sender policies: required signing refuses --no-sign, required encryption needs recipient keys, empty and external mail', async (t) => {
  const k = await mailKit(t);
  const signer = await k.sandbox('signer', { signing: 'required', encryption: 'required' });
  const plain = await k.sandbox('plain', { signing: 'off' });
  await k.store.putIdentity({ ...(await k.store.getIdentity(plain.id))!, encryptionPublicKey: null });
  await assert.rejects(k.mail.send({ from: signer.id, to: ['plain'], subject: 's', text: 'x', noSign: true }), code('usage', /--no-sign is not allowed/));
  await assert.rejects(k.mail.send({ from: signer.id, to: ['plain'], subject: 's', text: 'x' }), code('invalid_state', new RegExp(`cannot encrypt for ${plain.id}: it has no encryption key`)));
  await assert.rejects(k.mail.send({ from: signer.id, to: ['a@example.com'], subject: 's', text: 'x' }), code('usage', /external address \(a@example.com\) is disabled/));
  await assert.rejects(k.mail.send({ from: 'operator', to: ['a@example.com'], subject: 's', text: 'x' }), code('not_available', /no transport for external addresses/));
  await assert.rejects(k.mail.send({ from: 'operator', to: ['plain'], subject: 's' }), code('usage', /^message is empty; give --body, --text or --attach$/));
  await assert.rejects(k.mail.send({ from: 'operator', to: ['nobody'], subject: 's', text: 'x' }), code('not_found', /no sandbox matches "nobody"/));
  const r = await k.mail.send({ from: plain.id, to: [signer.emailAddress!], subject: 'by address', text: 'x' });
  assert.equal(r.signed, false, 'signing: off');
  assert.deepEqual(r.deliveries.map((d) => [d.recipient, d.status, d.signature]), [[signer.id, 'delivered', 'plain']]);
  assert.equal(await k.store.listMail(plain.id).then((l) => l.length), 0, 'nothing reached the sender because nothing was refused');
});

test('stored messages are redacted (plaintext bodies, subjects, text attachments); keys stay on the host with mode 0600', async (t) => {
  const k = await mailKit(t, {}, ['hunter2-literal-value']);
  const a = await k.sandbox('a', { encryption: 'off' });
  const b = await k.sandbox('b');
  const secret = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
  await k.mail.send({ from: a.id, to: ['b'], subject: `token ${secret}`, text: `use GITHUB_TOKEN=${secret} and hunter2-literal-value`, attachments: [{ filename: 'env.txt', content: Buffer.from(`AWS=AKIAABCDEFGHIJKLMNOP\n`) }] });
  const [m] = await k.mail.read(b.id);
  assert.equal(m?.json.signature, 'verified', 'verified at delivery, before redaction');
  assert.match(m!.json.body, /GITHUB_TOKEN=\[REDACTED:github_token\] and \[REDACTED:literal\]/);
  assert.match(m!.json.subject, /\[REDACTED:github_token\]/);
  assert.doesNotMatch(m!.raw.toString(), /ghp_|AKIA|hunter2/);
  const db = await readFile(join(k.dir, 'km.db'));
  const wal = await readFile(join(k.dir, 'km.db-wal')).catch(() => Buffer.alloc(0));
  for (const s of [secret, 'AKIAABCDEFGHIJKLMNOP', 'hunter2-literal-value']) {
    assert.equal(db.includes(s) || wal.includes(s), false, `${s} is not in the store`);
  }
  const keyDir = identityKeysDir(k.dir, a.id);
  const files = await readdir(keyDir);
  assert.deepEqual(files, ['km-mail-keys.json']);
  assert.equal((await stat(join(keyDir, files[0]!))).mode & 0o777, 0o600);
});

test('the word operator names the operator only when no sandbox id, alias or number matches (SPEC §8.3)', async (t) => {
  const k = await mailKit(t);
  const plain = await k.mail.send({ from: 'operator', to: ['operator'], subject: 'note to self', text: 'x' });
  assert.deepEqual(plain.deliveries.map((d) => d.recipient), ['operator']);
  const sb = await k.sandbox('operator');
  const r = await k.mail.send({ from: 'operator', to: ['operator'], subject: 'to the sandbox', text: 'x' });
  assert.deepEqual(r.deliveries.map((d) => d.recipient), [sb.id]);
});
