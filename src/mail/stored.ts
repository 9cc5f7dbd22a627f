/**
 * What a mailbox keeps (SPEC §13.2): the message with every secret redacted. Plaintext
 * bodies, text attachments and subjects are redacted and the message is rebuilt with the
 * same headers (plus `X-KM-Redacted: true`); an encrypted body is ciphertext and stays as
 * is. The signature status is decided at delivery, before redaction, and stored with it.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Redactor } from '../audit/index.ts';
import type { Attachment, ParsedMessage } from './message.ts';

const build = (opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> =>
  new Promise((resolve, reject) => new MailComposer(opts).compile().build((err, msg) => (err ? reject(err) : resolve(msg))));

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A text attachment redacted; binary ones (not valid UTF-8 or with NULs) unchanged. */
function redactAttachment(a: Attachment, r: Redactor): Attachment {
  let text: string;
  try {
    text = utf8.decode(a.content);
  } catch {
    return a;
  }
  if (text.includes('\0')) return a;
  const red = r.redactString(text);
  return red === text ? a : { filename: a.filename, content: Buffer.from(red, 'utf8') };
}

export interface StoredForm {
  raw: Buffer;
  subject: string;
  redacted: boolean;
}

export async function storedForm(raw: Buffer, m: ParsedMessage, r: Redactor): Promise<StoredForm> {
  const subject = r.redactString(m.subject);
  const text = m.encrypted ? m.text : r.redactString(m.text);
  const attachments = m.attachments.map((a) => redactAttachment(a, r));
  const changed = subject !== m.subject || text !== m.text || attachments.some((a, i) => a !== m.attachments[i]);
  if (!changed) return { raw, subject, redacted: false };
  const headers: Record<string, { prepared: true; value: string }> = { 'X-KM-Redacted': { prepared: true, value: 'true' } };
  if (m.senderId) headers['X-KM-Sender-ID'] = { prepared: true, value: m.senderId };
  if (m.signature) headers['X-KM-Signature'] = { prepared: true, value: m.signature };
  if (m.encrypted) headers['X-KM-Encrypted'] = { prepared: true, value: 'true' };
  const rebuilt = await build({
    from: m.fromName ? { name: m.fromName, address: m.from } : m.from,
    to: m.to,
    ...(m.cc.length > 0 ? { cc: m.cc } : {}),
    subject,
    ...(m.date ? { date: new Date(m.date) } : {}),
    messageId: m.messageId,
    headers,
    text,
    attachments: attachments.map((a) => ({ filename: a.filename, content: a.content })),
  });
  const end = rebuilt.indexOf('\r\n\r\n');
  const head = rebuilt.subarray(0, end).toString('latin1').replace(/^X-Km-(Sender-ID|Signature|Encrypted|Redacted):/gim, (_m, n: string) => `X-KM-${n}:`);
  return { raw: Buffer.concat([Buffer.from(head, 'latin1'), rebuilt.subarray(end)]), subject, redacted: true };
}
