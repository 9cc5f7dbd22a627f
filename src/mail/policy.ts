/**
 * Mail policies (SPEC §12.3, §12.4). Pure decisions: whether to sign and encrypt outgoing
 * mail, whether an inbound message is delivered, and `allowedSenders` matching.
 */
export type Requirement = 'required' | 'optional' | 'off';

export interface MailPolicy {
  signing: Requirement;
  verifyInbound: Requirement;
  encryption: Requirement;
  allowedSenders: readonly string[];
}

export interface SenderIdentity {
  /** Sandbox id, `operator`, or null for an external address. */
  id: string | null;
  /** Identity alias such as `build.web`. */
  alias: string | null;
  address: string;
}

const globRe = (glob: string): RegExp =>
  new RegExp(`^${glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Whether `sender` may deliver into a mailbox owned by `selfId`, and by which pattern. */
export function senderAllowed(patterns: readonly string[], sender: SenderIdentity, selfId: string): { allow: boolean; rule: string } {
  if (sender.id === 'operator') return { allow: true, rule: 'operator' };
  for (const [i, raw] of patterns.entries()) {
    const p = raw.trim().toLowerCase();
    const rule = `email.allowedSenders[${i}]`;
    if (p === '*') return { allow: true, rule };
    if (p === 'self') {
      if (sender.id === selfId) return { allow: true, rule };
      continue;
    }
    if (p.includes('@')) {
      if (globRe(p).test(sender.address.toLowerCase())) return { allow: true, rule };
      continue;
    }
    if (sender.id !== null && p === sender.id.toLowerCase()) return { allow: true, rule };
    if (sender.alias !== null && globRe(p).test(sender.alias.toLowerCase())) return { allow: true, rule };
  }
  return { allow: false, rule: patterns.length === 0 ? 'email.allowedSenders (operator only)' : 'email.allowedSenders' };
}

export interface OutgoingPlan {
  sign: boolean;
  encrypt: boolean;
}

export type PlanResult = { ok: true; plan: OutgoingPlan } | { ok: false; message: string; hint?: string };

/** What the sender's policy requires for one recipient. */
export function planOutgoing(
  policy: Pick<MailPolicy, 'signing' | 'encryption'>,
  opts: { noSign: boolean; recipient: { id: string | null; hasEncryptionKey: boolean; label: string } },
): PlanResult {
  if (opts.noSign && policy.signing === 'required') {
    return { ok: false, message: 'this sender\'s profile requires signed mail (email.signing: required); --no-sign is not allowed' };
  }
  const sign = policy.signing === 'required' || (policy.signing === 'optional' && !opts.noSign);
  if (policy.encryption === 'off') return { ok: true, plan: { sign, encrypt: false } };
  const { recipient } = opts;
  if (policy.encryption === 'required') {
    if (recipient.id === null) return { ok: false, message: `cannot send to ${recipient.label}: email.encryption is required and external addresses cannot be encrypted for` };
    if (!recipient.hasEncryptionKey) return { ok: false, message: `cannot encrypt for ${recipient.label}: it has no encryption key` };
    return { ok: true, plan: { sign, encrypt: true } };
  }
  return { ok: true, plan: { sign, encrypt: recipient.id !== null && recipient.hasEncryptionKey } };
}

export type SignatureStatus = 'verified' | 'failed' | 'plain' | 'unchecked';

/** Inbound delivery decision by the recipient's `verifyInbound`. */
export function inboundDecision(verifyInbound: Requirement, signature: 'valid' | 'invalid' | 'absent'): { deliver: boolean; status: SignatureStatus; reason?: string } {
  if (verifyInbound === 'off') return { deliver: true, status: 'unchecked' };
  const status: SignatureStatus = signature === 'valid' ? 'verified' : signature === 'invalid' ? 'failed' : 'plain';
  if (verifyInbound === 'required' && status !== 'verified') {
    return { deliver: false, status, reason: signature === 'absent' ? 'recipient requires signed mail' : 'signature verification failed' };
  }
  return { deliver: true, status };
}
