export { canonicalText, generateIdentityKeys, openSealed, sealTo, signMail, verifyMail, type IdentityKeys, type SignedFields } from './crypto.ts';
export { composeMessage, decryptParsed, parseMessage, sha256, verifyParsed, type Attachment, type ComposeInput, type ParsedMessage } from './message.ts';
export { inboundDecision, planOutgoing, senderAllowed, type MailPolicy, type OutgoingPlan, type Requirement, type SenderIdentity, type SignatureStatus } from './policy.ts';
export { createMailService, type MailService, type MailServiceDeps, type SendInput, type SendResult } from './service.ts';
export { normaliseMessageId, renderMailTable, renderMessage, renderSent, type MailJson, type MailView, type ReadOptions } from './read.ts';
export { splitRecipients, type Recipient } from './recipients.ts';
export { createSmtpTransport, type ExternalTransport, type SmtpSettings } from './smtp.ts';
export type { Delivery } from './delivery.ts';
