/**
 * RFC 5322 messages with km's signature headers (SPEC §12.2). Signed mail carries
 * `X-KM-Sender-ID` and `X-KM-Signature` (over `canonicalText`); encrypted mail seals the whole
 * inner MIME entity (body and attachments) to the recipient and is signed over the ciphertext,
 * so it verifies without the key. Subjects are not encrypted.
 */
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import PostalMime from 'postal-mime';
import { openSealed, sealTo, signMail, verifyMail, type SignedFields } from './crypto.ts';

export interface Attachment {
  filename: string;
  content: Buffer;
}

export interface ComposeInput {
  from: { address: string; name?: string };
  to: readonly string[];
  cc?: readonly string[];
  subject: string;
  text: string;
  attachments: readonly Attachment[];
  senderId: string;
  messageId: string;
  date: Date;
  /** Sign with this private key (PEM). */
  signWith?: string;
  /** Seal to this X25519 public key (base64). */
  encryptTo?: string;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const build = (opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> =>
  new Promise((resolve, reject) => new MailComposer(opts).compile().build((err, msg) => (err ? reject(err) : resolve(msg))));

const wrap76 = (s: string): string => s.replace(/(.{76})/g, '$1\n');

export async function composeMessage(m: ComposeInput): Promise<Buffer> {
  let text = m.text;
  let attachments = m.attachments;
  const headers: Record<string, { prepared: true; value: string }> = { 'X-KM-Sender-ID': { prepared: true, value: m.senderId } };
  if (m.encryptTo) {
    const inner = await build({ text: m.text, attachments: m.attachments.map((a) => ({ filename: a.filename, content: a.content })) });
    text = wrap76(sealTo(m.encryptTo, inner).toString('base64'));
    attachments = [];
    headers['X-KM-Encrypted'] = { prepared: true, value: 'true' };
  }
  if (m.signWith) {
    const value = signMail(m.signWith, fieldsOf(m.senderId, [...m.to, ...(m.cc ?? [])], m.subject, text, attachments));
    headers['X-KM-Signature'] = { prepared: true, value };
  }
  const raw = await build({
    from: m.from.name ? { name: m.from.name, address: m.from.address } : m.from.address,
    to: [...m.to],
    ...(m.cc?.length ? { cc: [...m.cc] } : {}),
    subject: m.subject,
    date: m.date,
    messageId: m.messageId,
    headers,
    text,
    attachments: attachments.map((a) => ({ filename: a.filename, content: a.content })),
  });
  return canonicalHeaderNames(raw);
}

/** The composer title-cases header names (`X-Km-…`); km writes its own as `X-KM-…`. */
function canonicalHeaderNames(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return raw;
  const head = raw.subarray(0, end).toString('latin1').replace(/^X-Km-(Sender-ID|Signature|Encrypted):/gim, (_m, name: string) => `X-KM-${name}:`);
  return Buffer.concat([Buffer.from(head, 'latin1'), raw.subarray(end)]);
}

function fieldsOf(senderId: string, recipients: readonly string[], subject: string, body: string, attachments: readonly Attachment[]): SignedFields {
  return { senderId, recipients, subject, body, attachments: attachments.map((a) => ({ filename: a.filename, sha256: sha256(a.content) })) };
}

export interface ParsedMessage {
  messageId: string;
  date: string | null;
  from: string;
  fromName: string | null;
  to: string[];
  cc: string[];
  subject: string;
  senderId: string | null;
  signature: string | null;
  encrypted: boolean;
  text: string;
  attachments: Attachment[];
}

export async function parseMessage(raw: Buffer | string): Promise<ParsedMessage> {
  const mail = await PostalMime.parse(raw);
  const header = (name: string): string | null => mail.headers.find((h) => h.key === name)?.value ?? null;
  const addrs = (list: typeof mail.to): string[] => (list ?? []).flatMap((a) => ('address' in a && a.address ? [a.address] : 'group' in a && a.group ? a.group.map((g) => g.address) : []));
  return {
    messageId: mail.messageId ?? '',
    date: mail.date ?? null,
    from: mail.from?.address ?? '',
    fromName: mail.from?.name || null,
    to: addrs(mail.to),
    cc: addrs(mail.cc),
    subject: mail.subject ?? '',
    senderId: header('x-km-sender-id'),
    signature: header('x-km-signature'),
    encrypted: header('x-km-encrypted') === 'true',
    text: mail.text ?? '',
    attachments: mail.attachments.map((a) => ({ filename: a.filename ?? 'attachment', content: Buffer.from(a.content as ArrayBuffer) })),
  };
}

/** Signature check of a parsed message against the sender's public key. */
export function verifyParsed(m: ParsedMessage, signingPublicKey: string): 'valid' | 'invalid' | 'absent' {
  if (!m.signature || !m.senderId) return 'absent';
  return verifyMail(signingPublicKey, m.signature, fieldsOf(m.senderId, [...m.to, ...m.cc], m.subject, m.text, m.attachments)) ? 'valid' : 'invalid';
}

/** Opens an encrypted message's inner entity; undefined if it cannot be opened. */
export async function decryptParsed(m: ParsedMessage, keys: { publicKey: string; secretKey: string }): Promise<{ text: string; attachments: Attachment[] } | undefined> {
  if (!m.encrypted) return { text: m.text, attachments: m.attachments };
  const sealed = Buffer.from(m.text.replace(/\s+/g, ''), 'base64');
  const inner = openSealed(keys.publicKey, keys.secretKey, sealed);
  if (!inner) return undefined;
  const p = await parseMessage(inner);
  return { text: p.text, attachments: p.attachments };
}
