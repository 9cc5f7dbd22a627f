/**
 * Identity lifecycle (SPEC §12.1): keys generated at create (private halves on the host,
 * public halves, policies and allowed senders in the registry), the operator identity made
 * on first use, everything removed at destroy.
 */
import type { Clock } from '../core/clock.ts';
import { generateIdentityKeys, type MailPolicy, type Requirement } from '../mail/index.ts';
import type { IdentityRecord, IdentityStore, MailStore } from '../store/index.ts';
import { hasIdentityKeys, identityKeysDir, loadOrCreateIdentityKeys, readIdentityKeys, removeIdentityKeys } from './keys.ts';

export interface ProvisionInput {
  sandboxId: string;
  /** Profile `email.alias` (e.g. `build.web`), or null. */
  alias: string | null;
  emailAddress: string;
  policy: MailPolicy;
  clock?: Clock;
}

/** The profile's `email` section as a policy (defaults of SPEC §1.2 for missing fields). */
export function mailPolicyOf(email: Partial<{ signing: string; verifyInbound: string; encryption: string; allowedSenders: readonly string[] }> | undefined): MailPolicy {
  const req = (v: string | undefined, d: Requirement): Requirement => (v === 'required' || v === 'optional' || v === 'off' ? v : d);
  return {
    signing: req(email?.signing, 'optional'),
    verifyInbound: req(email?.verifyInbound, 'optional'),
    encryption: req(email?.encryption, 'off'),
    allowedSenders: [...(email?.allowedSenders ?? ['*'])],
  };
}

/**
 * Keys in `keysDir` (0600; created when missing, kept when present) and the public identity
 * with the given policy in the registry. Idempotent and safe to run from several processes.
 */
export async function provisionIdentity(store: IdentityStore, keysDir: string, input: ProvisionInput): Promise<IdentityRecord> {
  const keys = loadOrCreateIdentityKeys(keysDir, input.sandboxId, generateIdentityKeys);
  const record: IdentityRecord = {
    id: input.sandboxId,
    alias: input.alias,
    emailAddress: input.emailAddress,
    signingPublicKey: keys.signingPublicKey,
    encryptionPublicKey: keys.encryptionPublicKey,
    signing: input.policy.signing,
    verifyInbound: input.policy.verifyInbound,
    encryption: input.policy.encryption,
    allowedSenders: [...input.policy.allowedSenders],
    updatedAtMs: (input.clock ?? { now: Date.now }).now(),
  };
  await store.putIdentity(record);
  return record;
}

const OPERATOR_POLICY: MailPolicy = { signing: 'optional', verifyInbound: 'optional', encryption: 'optional', allowedSenders: ['*'] };

/**
 * The operator identity, created on first use: signs when it can, encrypts when the
 * recipient has a key, accepts anything. Its keys file is the source of truth.
 */
export async function ensureOperatorIdentity(store: IdentityStore, kmHome: string, emailAddress: string, clock?: Clock): Promise<IdentityRecord> {
  const dir = identityKeysDir(kmHome, 'operator');
  const existing = await store.getIdentity('operator');
  if (existing && existing.emailAddress === emailAddress && hasIdentityKeys(dir)) {
    const keys = readIdentityKeys(dir, 'operator');
    if (keys.signingPublicKey === existing.signingPublicKey && keys.encryptionPublicKey === existing.encryptionPublicKey) return existing;
  }
  const policy: MailPolicy = existing
    ? { signing: existing.signing as Requirement, verifyInbound: existing.verifyInbound as Requirement, encryption: existing.encryption as Requirement, allowedSenders: existing.allowedSenders }
    : OPERATOR_POLICY;
  return provisionIdentity(store, dir, { sandboxId: 'operator', alias: null, emailAddress, policy, ...(clock ? { clock } : {}) });
}

/** At destroy: private keys, registry entry and mailbox go. Returns messages removed. */
export async function removeIdentity(store: IdentityStore & MailStore, kmHome: string, sandboxId: string): Promise<number> {
  removeIdentityKeys(identityKeysDir(kmHome, sandboxId));
  await store.deleteIdentity(sandboxId);
  return store.deleteMailbox(sandboxId);
}
