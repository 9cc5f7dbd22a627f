import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { parseMessage, verifyParsed } from './message.ts';
import { createSmtpTransport } from './smtp.ts';
import { mailKit } from './test-kit.ts';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

async function relay(t: { after(fn: () => void | Promise<void>): void }): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, received };
}

test('external addresses go through the SMTP relay when allowed: signed, never encrypted, sandbox mailboxes still local', async (t) => {
  const { port, received } = await relay(t);
  const k = await mailKit(t, { allowExternal: true, external: createSmtpTransport({ host: '127.0.0.1', port, secure: false }) });
  const web = await k.sandbox('web', { encryption: 'optional' });
  const other = await k.sandbox('other');
  const r = await k.mail.send({ from: web.id, to: ['Alerts@Example.com', 'other'], subject: 'build done', text: 'green' });
  assert.deepEqual(r.deliveries.map((d) => [d.recipient, d.status]), [[other.id, 'delivered'], ['alerts@example.com', 'relayed']]);
  assert.equal(received.length, 1);
  assert.deepEqual(received[0]?.to, ['alerts@example.com']);
  assert.equal(received[0]?.from, web.emailAddress);
  const m = await parseMessage(received[0]!.raw);
  assert.equal(m.encrypted, false, 'external copies are plaintext');
  assert.equal(m.text.trim(), 'green');
  assert.equal(verifyParsed(m, (await k.store.getIdentity(web.id))!.signingPublicKey), 'valid', 'the relayed copy verifies with the sender key');
  const [local] = await k.mail.read(other.id);
  assert.equal(local?.json.encrypted, true, 'the sandbox recipient got an encrypted copy');
  assert.equal(local?.json.body, 'green\n');
});

test('an SMTP relay that refuses surfaces as an upstream error', async (t) => {
  const k = await mailKit(t, { allowExternal: true, external: createSmtpTransport({ host: '127.0.0.1', port: 1, secure: false }) });
  const web = await k.sandbox('web');
  await assert.rejects(k.mail.send({ from: 'operator', to: ['web', 'x@example.com'], subject: 's', text: 'x' }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'upstream');
    assert.match(e.message, /SMTP relay 127\.0\.0\.1:1 refused the message/);
    return true;
  });
  assert.deepEqual(await k.store.listMail(web.id), [], 'nothing was delivered locally either');
});
