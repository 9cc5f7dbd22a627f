/** `km identity list|show` output (SPEC §12.1). Pure. */
import type { IdentityRecord } from '../store/index.ts';

export interface IdentityJson {
  id: string;
  email_address: string;
  alias: string | null;
  signing_public_key: string;
  encryption_public_key: string | null;
  signing: string;
  verify_inbound: string;
  encryption: string;
  allowed_senders: string[];
}

export const identityJson = (r: IdentityRecord): IdentityJson => ({
  id: r.id,
  email_address: r.emailAddress,
  alias: r.alias,
  signing_public_key: r.signingPublicKey,
  encryption_public_key: r.encryptionPublicKey,
  signing: r.signing,
  verify_inbound: r.verifyInbound,
  encryption: r.encryption,
  allowed_senders: [...r.allowedSenders],
});

const pad = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
};

export function renderIdentityList(list: readonly IdentityRecord[]): string {
  if (list.length === 0) return 'No identities.\n';
  const rows = [['ID', 'ADDRESS', 'ALIAS', 'SIGNING', 'VERIFY', 'ENCRYPTION', 'ALLOWED SENDERS']];
  for (const r of list) rows.push([r.id, r.emailAddress, r.alias ?? '-', r.signing, r.verifyInbound, r.encryption, r.allowedSenders.length === 0 ? '(operator only)' : r.allowedSenders.join(',')]);
  return pad(rows);
}

export function renderIdentity(r: IdentityRecord): string {
  const lines: Array<[string, string]> = [
    ['id', r.id],
    ['address', r.emailAddress],
    ['alias', r.alias ?? '-'],
    ['signing key', `${r.signingPublicKey} (Ed25519)`],
    ['encryption key', r.encryptionPublicKey ? `${r.encryptionPublicKey} (X25519)` : '-'],
    ['signing', r.signing],
    ['verify inbound', r.verifyInbound],
    ['encryption', r.encryption],
    ['allowed senders', r.allowedSenders.length === 0 ? '(operator only)' : r.allowedSenders.join(', ')],
  ];
  return lines.map(([k, v]) => `${(k + ':').padEnd(17)}${v}`).join('\n') + '\n';
}
