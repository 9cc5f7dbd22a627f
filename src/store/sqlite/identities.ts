/** The identities registry (SPEC §12.1): public keys, mail policies, allowed senders. */
import type { IdentityStore } from '../store.ts';
import type { IdentityRecord } from '../types.ts';
import type { Db, Row } from './db.ts';
import { json, num, optStr, placeholders, str } from './rows.ts';

function decodeIdentity(r: Row): IdentityRecord {
  return {
    id: str(r, 'id'),
    alias: optStr(r, 'alias'),
    emailAddress: str(r, 'email_address'),
    signingPublicKey: str(r, 'signing_public_key'),
    encryptionPublicKey: optStr(r, 'encryption_public_key'),
    signing: str(r, 'signing'),
    verifyInbound: str(r, 'verify_inbound'),
    encryption: str(r, 'encryption'),
    allowedSenders: json(r, 'allowed_senders_json') as string[],
    updatedAtMs: num(r, 'updated_at_ms'),
  };
}

export function createIdentityStore(db: Db): IdentityStore {
  return {
    putIdentity: async (i) => {
      db.run(
        `INSERT INTO identities (id, alias, email_address, signing_public_key, encryption_public_key, signing, verify_inbound,
           encryption, allowed_senders_json, updated_at_ms) VALUES (${placeholders(10)})
         ON CONFLICT (id) DO UPDATE SET alias = excluded.alias, email_address = excluded.email_address,
           signing_public_key = excluded.signing_public_key, encryption_public_key = excluded.encryption_public_key,
           signing = excluded.signing, verify_inbound = excluded.verify_inbound, encryption = excluded.encryption,
           allowed_senders_json = excluded.allowed_senders_json, updated_at_ms = excluded.updated_at_ms`,
        i.id,
        i.alias,
        i.emailAddress,
        i.signingPublicKey,
        i.encryptionPublicKey,
        i.signing,
        i.verifyInbound,
        i.encryption,
        JSON.stringify(i.allowedSenders),
        i.updatedAtMs,
      );
    },
    getIdentity: async (id) => {
      const r = db.get('SELECT * FROM identities WHERE id = ?', id);
      return r ? decodeIdentity(r) : undefined;
    },
    listIdentities: async () => db.all("SELECT * FROM identities ORDER BY (id <> 'operator'), id").map(decodeIdentity),
    deleteIdentity: async (id) => db.run('DELETE FROM identities WHERE id = ?', id).changes > 0,
  };
}
