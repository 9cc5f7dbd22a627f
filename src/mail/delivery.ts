/**
 * Delivery into a mailbox (SPEC §12.3, §12.4): the recipient's `verifyInbound` and
 * `allowedSenders` decide; rejections are recorded (`mail.rejected`) and reported to the
 * sender with a failure notice from the operator; deliveries are stored redacted
 * (`mail.delivered`).
 */
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import type { EventStore, IdentityRecord, MailStore, SandboxStore } from '../store/index.ts';
import { composeMessage, parseMessage, verifyParsed, type ParsedMessage } from './message.ts';
import { inboundDecision, senderAllowed, type Requirement, type SignatureStatus } from './policy.ts';
import { storedForm } from './stored.ts';

export interface DeliveryDeps {
  store: MailStore & EventStore & Pick<SandboxStore, 'getSandbox'>;
  clock: Clock;
  redactor: Redactor;
}

export interface Delivery {
  recipient: string;
  address: string;
  status: 'delivered' | 'rejected' | 'relayed';
  encrypted: boolean;
  signature?: SignatureStatus;
  reason?: string;
  rule?: string;
}

/** Events of sandboxes and of the operator (`sandbox_id: operator`), redacted before storing. */
export async function recordEvent(deps: DeliveryDeps, sandboxId: string, eventType: string, detail: Record<string, unknown>): Promise<void> {
  await deps.store.appendEvents([{ timestampMs: deps.clock.now(), sandboxId, eventType, source: 'mail', detail: deps.redactor.redactValue(detail) }]);
}

async function store(deps: DeliveryDeps, mailbox: string, raw: Buffer, m: ParsedMessage, senderId: string | null, signature: SignatureStatus): Promise<void> {
  const kept = await storedForm(raw, m, deps.redactor);
  await deps.store.deliverMail({
    mailbox,
    messageId: m.messageId,
    receivedAtMs: deps.clock.now(),
    senderId,
    fromAddress: m.from,
    to: [...m.to, ...m.cc],
    subject: kept.subject,
    signature,
    encrypted: m.encrypted,
    raw: kept.raw,
  });
}

async function recipientGone(deps: DeliveryDeps, id: string): Promise<string | undefined> {
  if (id === 'operator') return undefined;
  const sb = await deps.store.getSandbox(id);
  if (!sb) return `${id} does not exist`;
  return sb.status === 'destroyed' ? `${id} was destroyed` : undefined;
}

/** Delivers one composed message from `sender` into `recipient`'s mailbox, or rejects it. */
export async function deliverToIdentity(deps: DeliveryDeps, raw: Buffer, sender: IdentityRecord, recipient: IdentityRecord): Promise<Delivery> {
  const m = await parseMessage(raw);
  const base = { recipient: recipient.id, address: recipient.emailAddress, encrypted: m.encrypted };
  const sig = verifyParsed(m, sender.signingPublicKey);
  const decision = inboundDecision(recipient.verifyInbound as Requirement, sig);
  const allowed = senderAllowed(recipient.allowedSenders, { id: sender.id, alias: sender.alias, address: sender.emailAddress }, recipient.id);
  const gone = await recipientGone(deps, recipient.id);
  let reason: string | undefined;
  let rule: string | undefined;
  if (gone) reason = gone;
  else if (!allowed.allow) [reason, rule] = [`${sender.id} is not an allowed sender for ${recipient.id}`, allowed.rule];
  else if (!decision.deliver) [reason, rule] = [decision.reason ?? 'refused', 'email.verifyInbound'];
  const detail = { message_id: m.messageId, from: sender.id, from_address: sender.emailAddress, to: recipient.id, subject: m.subject, signature: decision.status, encrypted: m.encrypted };
  if (reason !== undefined) {
    await recordEvent(deps, recipient.id, 'mail.rejected', { ...detail, reason, ...(rule ? { rule } : {}) });
    return { ...base, status: 'rejected', signature: decision.status, reason, ...(rule ? { rule } : {}) };
  }
  await store(deps, recipient.id, raw, m, sender.id, decision.status);
  await recordEvent(deps, recipient.id, 'mail.delivered', detail);
  return { ...base, status: 'delivered', signature: decision.status };
}

/** The failure notice a rejected sender receives, from the operator, signed with its key. */
export async function failureNotice(
  deps: DeliveryDeps,
  operator: { identity: IdentityRecord; signingPrivateKeyPem: string },
  sender: IdentityRecord,
  original: { messageId: string; subject: string },
  rejected: readonly Delivery[],
  newMessageId: () => string,
): Promise<void> {
  const lines = rejected.map((d) => `  ${d.address}: ${d.reason ?? 'refused'}${d.rule ? ` (${d.rule})` : ''}`);
  const raw = await composeMessage({
    from: { address: operator.identity.emailAddress, name: 'km mail delivery' },
    to: [sender.emailAddress],
    subject: `Undelivered: ${original.subject}`,
    text: `Your message ${original.messageId} was not delivered to:\n${lines.join('\n')}\n`,
    attachments: [],
    senderId: operator.identity.id,
    messageId: newMessageId(),
    date: new Date(deps.clock.now()),
    signWith: operator.signingPrivateKeyPem,
  });
  const m = await parseMessage(raw);
  const sig = verifyParsed(m, operator.identity.signingPublicKey);
  await store(deps, sender.id, raw, m, operator.identity.id, sig === 'valid' ? 'verified' : 'failed');
}
