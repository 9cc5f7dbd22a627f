/**
 * Reading a mailbox (SPEC §12.5): messages with their delivery-time signature status,
 * bodies and attachments decrypted automatically, optional read marking; and the renderers
 * of `km email read` / `km-mail read` (table, one message, raw).
 */
import { toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { printable } from '../core/printable.ts';
import type { MailRecord, MailStore } from '../store/index.ts';
import type { IdentityKeys } from './crypto.ts';
import { decryptParsed, parseMessage, sha256 } from './message.ts';

export interface ReadOptions {
  unreadOnly?: boolean;
  /** One message (with or without angle brackets). */
  messageId?: string;
  markRead?: boolean;
  /** Mailbox name for messages, e.g. `demo`. */
  label?: string;
}

export interface MailJson {
  message_id: string;
  date: string;
  from: string;
  sender_id: string | null;
  to: string[];
  subject: string;
  body: string;
  signature: string;
  encrypted: boolean;
  read: boolean;
  attachments: Array<{ filename: string; size: number; sha256: string }>;
  /** Present (`failed`) when an encrypted message could not be opened with the mailbox key. */
  decryption?: 'failed';
}

export interface MailView {
  json: MailJson;
  /** The message as stored (redacted; ciphertext when encrypted). */
  raw: Buffer;
}

export const normaliseMessageId = (id: string): string => {
  const t = id.trim();
  return t.startsWith('<') ? t : `<${t}>`;
};

/** LF line ends; trailing blank lines removed; one final newline when non-empty. */
const bodyText = (t: string): string => {
  const s = t.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  return s === '' ? '' : `${s}\n`;
};

async function view(r: MailRecord, keys: () => IdentityKeys): Promise<MailView> {
  const raw = Buffer.from(r.raw);
  const m = await parseMessage(raw);
  let content: { text: string; attachments: Array<{ filename: string; content: Buffer }> } | undefined = { text: m.text, attachments: m.attachments };
  if (m.encrypted) {
    const k = keys();
    content = await decryptParsed(m, { publicKey: k.encryptionPublicKey, secretKey: k.encryptionSecretKey });
  }
  const dateMs = m.date ? Date.parse(m.date) : NaN;
  const json: MailJson = {
    message_id: r.messageId,
    date: toIso(Number.isFinite(dateMs) ? dateMs : r.receivedAtMs),
    from: r.fromAddress,
    sender_id: r.senderId,
    to: r.to,
    subject: r.subject,
    body: bodyText(content?.text ?? ''),
    signature: r.signature,
    encrypted: r.encrypted,
    read: r.read,
    attachments: (content?.attachments ?? []).map((a) => ({ filename: a.filename, size: a.content.length, sha256: sha256(a.content) })),
    ...(content ? {} : { decryption: 'failed' as const }),
  };
  return { json, raw };
}

export async function readMailbox(deps: { store: MailStore; keys: () => IdentityKeys }, mailbox: string, o: ReadOptions): Promise<MailView[]> {
  let records: MailRecord[];
  if (o.messageId !== undefined) {
    const id = normaliseMessageId(o.messageId);
    const one = await deps.store.getMail(mailbox, id);
    if (!one) throw new KmError('not_found', `no message ${id} for ${o.label ?? mailbox}`, { hint: `km email read ${o.label ?? mailbox} lists the messages` });
    records = o.unreadOnly && one.read ? [] : [one];
  } else records = await deps.store.listMail(mailbox, { unreadOnly: o.unreadOnly ?? false });
  const views = await Promise.all(records.map((r) => view(r, deps.keys)));
  if (o.markRead && views.length > 0) {
    await deps.store.markMailRead(mailbox, views.map((v) => v.json.message_id));
    for (const v of views) v.json.read = true;
  }
  return views;
}

// ── rendering ────────────────────────────────────────────────────────────────────────────

const shortDate = (iso: string, timeZone: string): string => {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}`;
};

// Senders, subjects, file names and bodies are written by sandboxes: shown through printable.
const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderMailTable(views: readonly MailJson[], label: string, timeZone = 'UTC'): string {
  if (views.length === 0) return `No messages for ${label}.\n`;
  const rows = [['#', 'DATE', 'FROM', 'SUBJECT', 'SIG', 'ENC', 'READ']];
  views.forEach((v, i) => rows.push([String(i + 1), shortDate(v.date, timeZone), printable(v.sender_id ?? v.from), cut(printable(v.subject), 48), v.signature, v.encrypted ? 'yes' : 'no', v.read ? 'yes' : 'no']));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function renderMessage(v: MailJson, timeZone = 'UTC'): string {
  const lines = [
    `Message-ID: ${printable(v.message_id)}`,
    `Date:       ${shortDate(v.date, timeZone)}`,
    `From:       ${printable(v.from)}${v.sender_id ? ` (${printable(v.sender_id)})` : ''}`,
    `To:         ${printable(v.to.join(', '))}`,
    `Subject:    ${printable(v.subject)}`,
    `Signature:  ${v.signature}${v.encrypted ? '   Encrypted: yes' : ''}`,
    ...v.attachments.map((a) => `Attachment: ${printable(a.filename)} (${a.size} bytes, sha256 ${a.sha256})`),
    ...(v.decryption ? ['(the body could not be decrypted with this mailbox\'s key)'] : []),
    '',
    printable(v.body.replace(/\n+$/, ''), { lines: true }),
  ];
  return lines.join('\n') + '\n';
}

/** `Sent <id> from operator to demo (signed, encrypted, 1 attachment)`. */
export function renderSent(r: { message_id: string; signed: boolean; encrypted: boolean; attachments: number }, fromLabel: string, toLabels: readonly string[]): string {
  const notes = [r.signed ? 'signed' : 'unsigned', ...(r.encrypted ? ['encrypted'] : []), ...(r.attachments > 0 ? [`${r.attachments} attachment${r.attachments === 1 ? '' : 's'}`] : [])];
  return `Sent ${r.message_id} from ${fromLabel} to ${toLabels.join(', ')} (${notes.join(', ')})\n`;
}
