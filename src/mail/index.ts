export { canonicalText, generateIdentityKeys, openSealed, sealTo, signMail, verifyMail, type IdentityKeys, type SignedFields } from './crypto.ts';
export { composeMessage, decryptParsed, parseMessage, sha256, verifyParsed, type Attachment, type ComposeInput, type ParsedMessage } from './message.ts';
export { inboundDecision, planOutgoing, senderAllowed, type MailPolicy, type OutgoingPlan, type Requirement, type SenderIdentity, type SignatureStatus } from './policy.ts';
