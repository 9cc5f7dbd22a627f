/** Records of schedules (SPEC §11.4), identities (§12.1), events (§13.1), mail (§12.5) and store health. */

// ── schedules ───────────────────────────────────────────────────────────────────────────

export type ScheduleStatus = 'active' | 'completed' | 'missed' | 'cancelled';
export type FireOutcome = 'ok' | 'failed' | 'skipped';

export interface NewSchedule {
  name: string;
  kind: 'once' | 'recurring';
  input: string;
  expression: string;
  awsExpression: string | null;
  timezone: string;
  /** argv of the scheduled command, e.g. ['stop', 'sb-5e0c9a12']. */
  command: string[];
  target: string | null;
  /** Anything else the scheduler keeps with the schedule (e.g. a resolved profile). */
  payload?: unknown;
  createdAtMs: number;
  nextFireAtMs: number | null;
}

export interface ScheduleRecord extends NewSchedule {
  payload: unknown;
  status: ScheduleStatus;
  lastFireAtMs: number | null;
  lastOutcome: FireOutcome | null;
  /** Set while a fire is executing (the claim), else null. */
  runningSinceMs: number | null;
  runningFireAtMs: number | null;
}

export interface FireRecord {
  name: string;
  /** The instant the fire was due. */
  fireAtMs: number;
  /** When it was executed or skipped. */
  executedAtMs: number;
  delayS: number;
  outcome: FireOutcome;
  detail: string | null;
}

export interface CreateScheduleOptions {
  /** On a taken name append `-2`, `-3`… instead of failing. */
  uniquify?: boolean;
}

// ── identities ──────────────────────────────────────────────────────────────────────────

export interface IdentityRecord {
  /** Sandbox id, or `operator`. */
  id: string;
  alias: string | null;
  emailAddress: string;
  signingPublicKey: string;
  encryptionPublicKey: string | null;
  signing: string;
  verifyInbound: string;
  encryption: string;
  allowedSenders: string[];
  updatedAtMs: number;
}

// ── events ──────────────────────────────────────────────────────────────────────────────

export interface EventInput {
  timestampMs: number;
  sandboxId: string;
  eventType: string;
  source: string;
  detail: Record<string, unknown>;
}

export interface EventRecord extends EventInput {
  /** Monotonic sequence id: a cursor for following (`afterSeq`). */
  seq: number;
}

export interface EventQuery {
  sandboxId?: string;
  /** Exact types, or prefixes ending in `.` / `*` (e.g. `lifecycle.*`). */
  types?: readonly string[];
  sinceMs?: number;
  /** Only events appended after this cursor; results are then in append order. */
  afterSeq?: number;
  limit?: number;
  /** With `limit`: the newest N (still returned oldest first). */
  fromEnd?: boolean;
}

// ── mail ────────────────────────────────────────────────────────────────────────────────

export type MailSignature = 'verified' | 'failed' | 'plain' | 'unchecked';

export interface NewMail {
  /** Recipient mailbox: a sandbox id or `operator`. */
  mailbox: string;
  messageId: string;
  receivedAtMs: number;
  senderId: string | null;
  fromAddress: string;
  to: string[];
  subject: string;
  signature: MailSignature;
  encrypted: boolean;
  /** The RFC 5322 message as delivered (ciphertext when encrypted). */
  raw: Uint8Array;
}

export interface MailRecord extends NewMail {
  read: boolean;
}

// ── health ──────────────────────────────────────────────────────────────────────────────

export interface IntegrityReport {
  ok: boolean;
  schemaVersion: number;
  message: string;
}

export interface StoreLocation {
  kind: 'sqlite' | 'dynamodb';
  location: string;
}
