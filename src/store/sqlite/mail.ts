/** Mailboxes (SPEC §12.5, local transport): delivered messages per recipient, read flags. */
import type { MailStore } from '../store.ts';
import type { MailRecord, MailSignature } from '../types.ts';
import type { Db, Row } from './db.ts';
import { bool, num, optStr, placeholders, str } from './rows.ts';

function decodeMail(r: Row): MailRecord {
  return {
    mailbox: str(r, 'mailbox'),
    messageId: str(r, 'message_id'),
    receivedAtMs: num(r, 'received_at_ms'),
    senderId: optStr(r, 'sender_id'),
    fromAddress: str(r, 'from_address'),
    to: JSON.parse(str(r, 'to_json')) as string[],
    subject: str(r, 'subject'),
    signature: str(r, 'signature') as MailSignature,
    encrypted: bool(r, 'encrypted'),
    read: bool(r, 'read'),
    raw: new Uint8Array(r.raw as Uint8Array),
  };
}

export function createMailStore(db: Db): MailStore {
  return {
    deliverMail: async (m) =>
      db.run(
        `INSERT INTO mail (mailbox, message_id, received_at_ms, sender_id, from_address, to_json, subject, signature, encrypted, raw)
         VALUES (${placeholders(10)}) ON CONFLICT (mailbox, message_id) DO NOTHING`,
        m.mailbox,
        m.messageId,
        m.receivedAtMs,
        m.senderId,
        m.fromAddress,
        JSON.stringify(m.to),
        m.subject,
        m.signature,
        m.encrypted ? 1 : 0,
        m.raw,
      ).changes === 1,
    listMail: async (mailbox, options = {}) =>
      db
        .all(`SELECT * FROM mail WHERE mailbox = ?${options.unreadOnly ? ' AND read = 0' : ''} ORDER BY received_at_ms, message_id`, mailbox)
        .map(decodeMail),
    getMail: async (mailbox, messageId) => {
      const r = db.get('SELECT * FROM mail WHERE mailbox = ? AND message_id = ?', mailbox, messageId);
      return r ? decodeMail(r) : undefined;
    },
    markMailRead: async (mailbox, ids) =>
      ids.length === 0
        ? 0
        : db.run(`UPDATE mail SET read = 1 WHERE mailbox = ? AND read = 0 AND message_id IN (${placeholders(ids.length)})`, mailbox, ...ids).changes,
    deleteMailbox: async (mailbox) => db.run('DELETE FROM mail WHERE mailbox = ?', mailbox).changes,
  };
}
