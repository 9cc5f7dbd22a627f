/**
 * The mail service (SPEC §12): sending as the operator or a sandbox (signed and encrypted per
 * the sender's policy and each recipient's keys), local delivery between mailboxes, external
 * addresses through the SMTP transport when allowed, and reading (verify status, automatic
 * decryption, read flags). Used by kmd's km.internal API and by the `km email` commands.
 */
import { randomUUID } from 'node:crypto';
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { ensureOperatorIdentity, identityKeysDir, mailDomain, operatorAddress, readIdentityKeys, type AddressConfig } from '../identity/index.ts';
import type { EventStore, IdentityRecord, IdentityStore, MailStore, SandboxStore } from '../store/index.ts';
import { deliverToIdentity, failureNotice, recordEvent, type Delivery } from './delivery.ts';
import { composeMessage, type Attachment } from './message.ts';
import { planOutgoing, type Requirement } from './policy.ts';
import { readMailbox, type MailView, type ReadOptions } from './read.ts';
import { resolveRecipient, type Recipient } from './recipients.ts';
import type { ExternalTransport } from './smtp.ts';

export interface MailServiceDeps {
  store: IdentityStore & MailStore & EventStore & Pick<SandboxStore, 'getSandbox'>;
  kmHome: string;
  clock: Clock;
  redactor: Redactor;
  address: AddressConfig & { operatorEmail?: string | undefined };
  /** Operator config `mail.allow_external`: may sandboxes mail non-sandbox addresses. */
  allowExternal: boolean;
  /** The transport for external addresses (`mail.smtp.*`); none → they are refused. */
  external?: ExternalTransport | undefined;
  /** Resolves `<sb>` (id, alias, number) to a sandbox id (SPEC §8.3). */
  resolveSandbox: (ref: string) => Promise<{ id: string }>;
  newMessageId?: () => string;
}

export interface SendInput {
  /** `operator` or a sandbox id. */
  from: string;
  to: readonly string[];
  cc?: readonly string[];
  subject: string;
  text?: string;
  attachments?: readonly Attachment[];
  noSign?: boolean;
}

export interface SendResult {
  message_id: string;
  from: string;
  from_address: string;
  to: string[];
  cc: string[];
  subject: string;
  signed: boolean;
  encrypted: boolean;
  attachments: number;
  deliveries: Delivery[];
}

export interface MailService {
  send(input: SendInput): Promise<SendResult>;
  read(mailbox: string, options?: ReadOptions): Promise<MailView[]>;
  markRead(mailbox: string, messageIds: readonly string[]): Promise<number>;
  close(): void;
}

interface Planned {
  r: Recipient;
  encryptTo?: string | undefined;
}

export function createMailService(deps: MailServiceDeps): MailService {
  const newMessageId = deps.newMessageId ?? (() => `<${randomUUID()}@${mailDomain(deps.address)}>`);
  const operator = () => ensureOperatorIdentity(deps.store, deps.kmHome, operatorAddress(deps.address), deps.clock);
  const recipientDeps = { store: deps.store, address: deps.address, resolveSandbox: deps.resolveSandbox, operator };
  const keysOf = (id: string) => readIdentityKeys(identityKeysDir(deps.kmHome, id), id);

  async function senderOf(id: string): Promise<IdentityRecord> {
    if (id === 'operator') return operator();
    const sb = await deps.store.getSandbox(id);
    if (sb?.status === 'destroyed') throw new KmError('invalid_state', `${id} was destroyed; it cannot send mail`);
    const identity = await deps.store.getIdentity(id);
    if (!identity) throw new KmError('not_found', `${id} has no mail identity`, { hint: 'sandboxes get one at create' });
    return identity;
  }

  function plan(sender: IdentityRecord, recipients: Recipient[], noSign: boolean): { sign: boolean; planned: Planned[] } {
    const policy = { signing: sender.signing as Requirement, encryption: sender.encryption as Requirement };
    let sign = false;
    const planned = recipients.map((r): Planned => {
      if (r.kind === 'external' && sender.id !== 'operator' && !deps.allowExternal) {
        throw new KmError('usage', `mail from a sandbox to an external address (${r.address}) is disabled`, { hint: 'an operator can allow it with mail.allow_external: true' });
      }
      if (r.kind === 'external' && !deps.external) {
        throw new KmError('not_available', `cannot send to ${r.address}: no transport for external addresses`, { hint: 'configure mail.transport: smtp and mail.smtp.* (km configure)' });
      }
      const key = r.kind === 'identity' ? r.identity.encryptionPublicKey : null;
      const p = planOutgoing(policy, { noSign, recipient: { id: r.kind === 'identity' ? r.identity.id : null, hasEncryptionKey: key !== null, label: r.kind === 'identity' ? r.identity.id : r.address } });
      if (!p.ok) throw new KmError(p.message.includes('--no-sign') ? 'usage' : 'invalid_state', p.message, p.hint ? { hint: p.hint } : {});
      sign = p.plan.sign;
      return { r, encryptTo: p.plan.encrypt && key ? key : undefined };
    });
    return { sign, planned };
  }

  /**
   * Composes once for plaintext recipients and once per encrypted one. The relay (the step
   * that can fail) goes first, so a refused relay leaves no half-delivered message behind.
   */
  async function dispatch(sender: IdentityRecord, planned: Planned[], compose: (encryptTo?: string) => Promise<Buffer>): Promise<Delivery[]> {
    let plain: Promise<Buffer> | undefined;
    const external = planned.flatMap((p) => (p.r.kind === 'external' ? [p.r.address] : []));
    if (external.length > 0) await deps.external!.send({ from: sender.emailAddress, to: external }, await (plain ??= compose()));
    const deliveries: Delivery[] = [];
    for (const p of planned) {
      if (p.r.kind === 'external') continue;
      const raw = p.encryptTo ? await compose(p.encryptTo) : await (plain ??= compose());
      deliveries.push(await deliverToIdentity(deps, raw, sender, p.r.identity));
    }
    return [...deliveries, ...external.map((a): Delivery => ({ recipient: a, address: a, status: 'relayed', encrypted: false }))];
  }

  async function send(input: SendInput): Promise<SendResult> {
    const attachments = input.attachments ?? [];
    const text = input.text ?? '';
    if (text === '' && attachments.length === 0) throw new KmError('usage', 'message is empty; give --body, --text or --attach');
    if (input.to.length === 0) throw new KmError('usage', 'no recipient; give --to');
    const sender = await senderOf(input.from);
    const toR = await Promise.all(input.to.map((t) => resolveRecipient(recipientDeps, t)));
    const ccR = await Promise.all((input.cc ?? []).map((t) => resolveRecipient(recipientDeps, t)));
    const { sign, planned } = plan(sender, [...toR, ...ccR], input.noSign ?? false);
    const addr = (r: Recipient) => (r.kind === 'identity' ? r.identity.emailAddress : r.address);
    const keys = sign || sender.id === 'operator' ? keysOf(sender.id) : undefined;
    const messageId = newMessageId();
    const date = new Date(deps.clock.now());
    const compose = (encryptTo?: string) =>
      composeMessage({
        from: { address: sender.emailAddress, ...(sender.alias ? { name: sender.alias } : {}) },
        to: toR.map(addr),
        cc: ccR.map(addr),
        subject: input.subject,
        text,
        attachments,
        senderId: sender.id,
        messageId,
        date,
        ...(sign && keys ? { signWith: keys.signingPrivateKeyPem } : {}),
        ...(encryptTo ? { encryptTo } : {}),
      });
    const deliveries = await dispatch(sender, planned, compose);
    const result: SendResult = {
      message_id: messageId,
      from: sender.id,
      from_address: sender.emailAddress,
      to: toR.map(addr),
      cc: ccR.map(addr),
      subject: input.subject,
      signed: sign,
      encrypted: planned.length > 0 && planned.every((p) => p.encryptTo !== undefined),
      attachments: attachments.length,
      deliveries,
    };
    const external = deliveries.filter((d) => d.status === 'relayed').map((d) => d.address);
    await recordEvent(deps, sender.id, 'mail.sent', { message_id: messageId, from: sender.id, to: result.to, cc: result.cc, subject: input.subject, signed: sign, encrypted: result.encrypted, attachments: attachments.length, external });
    const rejected = deliveries.filter((d) => d.status === 'rejected');
    if (rejected.length > 0) {
      const op = await operator();
      await failureNotice(deps, { identity: op, signingPrivateKeyPem: keysOf('operator').signingPrivateKeyPem }, sender, { messageId, subject: input.subject }, rejected, newMessageId);
    }
    return result;
  }

  return {
    send,
    read: async (mailbox, options = {}) => {
      if (mailbox === 'operator') await operator();
      return readMailbox({ store: deps.store, keys: () => keysOf(mailbox) }, mailbox, options);
    },
    markRead: (mailbox, ids) => deps.store.markMailRead(mailbox, ids),
    close: () => deps.external?.close(),
  };
}
