/**
 * Records kept by the store (SPEC §6.3, §8, §10.2, §11.4, §12.1, §13.1). Field names are
 * camelCase; renderers map them to the snake_case JSON of the spec. Instants are epoch
 * milliseconds (`…AtMs`), durations whole seconds (`…S`), money USD numbers (`…Usd`).
 */

export const SANDBOX_STATUSES = ['creating', 'running', 'paused', 'stopped', 'destroying', 'destroyed', 'failed', 'lost'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

export const PAUSED_BY = ['operator', 'budget', 'idle', 'ttl', 'schedule'] as const;
export type PausedBy = (typeof PAUSED_BY)[number];

export type CreatedBy = 'cli' | 'schedule' | 'clone' | 'remote';
export type TeardownPolicy = 'destroy' | 'stop' | 'retain';

export interface SandboxRecord {
  id: string;
  alias: string | null;
  /** Local number (§8.2): unique among non-destroyed sandboxes. */
  number: number;
  profileName: string;
  /** The resolved profile, as stored at create (opaque to the store). */
  profile: unknown;
  substrate: string;
  region: string | null;
  status: SandboxStatus;
  statusReason: string | null;
  pausedBy: PausedBy | null;
  createdAtMs: number;
  updatedAtMs: number;
  expiresAtMs: number | null;
  idleTimeoutS: number | null;
  maxExpiresAtMs: number | null;
  teardownPolicy: TeardownPolicy;
  locked: boolean;
  lockedAtMs: number | null;
  clonedFrom: string | null;
  image: string | null;
  enforcementRequested: string;
  enforcementEffective: string | null;
  aiLimitUsd: number | null;
  computeLimitUsd: number | null;
  /** Fraction of a limit at which the warning fires (0..1]. */
  warningThreshold: number;
  emailAddress: string | null;
  createdBy: CreatedBy;
  /** Latest activity of any kind (session bytes, pane output, gateway traffic, spend). */
  lastActivityAtMs: number | null;
  /** Latest start or resume (the idle clock starts at the later of this and activity). */
  lastStartedAtMs: number | null;
  destroyedAtMs: number | null;
}

/** What `insertSandbox` needs; `number`, timestamps and lock state are assigned by the store. */
export interface NewSandbox {
  id: string;
  alias?: string | null;
  profileName: string;
  profile: unknown;
  substrate: string;
  region?: string | null;
  status?: SandboxStatus;
  createdAtMs: number;
  expiresAtMs?: number | null;
  idleTimeoutS?: number | null;
  maxExpiresAtMs?: number | null;
  teardownPolicy: TeardownPolicy;
  clonedFrom?: string | null;
  image?: string | null;
  enforcementRequested: string;
  enforcementEffective?: string | null;
  aiLimitUsd?: number | null;
  computeLimitUsd?: number | null;
  warningThreshold?: number;
  emailAddress?: string | null;
  createdBy: CreatedBy;
}

export interface InsertOptions {
  /** Refuse with `limit_reached` when this many non-destroyed sandboxes already exist. */
  maxActive?: number;
}

/** Columns a transition may set along with the status. */
export interface TransitionFields {
  /** Describes the new status; cleared when not given. */
  statusReason?: string | null;
  /** Only meaningful for `paused`; cleared on every other status. */
  pausedBy?: PausedBy | null;
  expiresAtMs?: number | null;
  lastStartedAtMs?: number | null;
  enforcementEffective?: string | null;
  image?: string | null;
  region?: string | null;
}

export interface TransitionOptions {
  /** Refuse with `sandbox_locked` when the sandbox is locked (checked atomically). */
  requireUnlocked?: boolean;
  atMs: number;
}

export interface LockChange {
  /** Whether the call changed anything. */
  changed: boolean;
  locked: boolean;
  /** When the current lock was taken (null when unlocked). */
  lockedAtMs: number | null;
}

export interface ListSandboxOptions {
  includeDestroyed?: boolean;
  /** Only these statuses (`destroyed` included when listed, e.g. for retention purges). */
  statuses?: readonly SandboxStatus[];
}

// ── runs ────────────────────────────────────────────────────────────────────────────────

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'budget_exhausted', 'timed_out', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunRecord {
  sandboxId: string;
  /** `YYYYMMDDTHHMMSSZ`, unique per sandbox. */
  runId: string;
  agent: string;
  status: RunStatus;
  statusReason: string | null;
  prompt: string;
  createdAtMs: number;
  startedAtMs: number | null;
  endedAtMs: number | null;
  exitCode: number | null;
  /** The stored result document (agent JSON plus the `km` object), opaque to the store. */
  result: unknown;
}

export interface NewRun {
  agent: string;
  prompt: string;
  status?: 'queued' | 'running';
  /** The run id is derived from this instant; the next free second is used when taken. */
  atMs: number;
}

export interface RunUpdate {
  status?: RunStatus;
  statusReason?: string | null;
  startedAtMs?: number | null;
  endedAtMs?: number | null;
  exitCode?: number | null;
  result?: unknown;
}

// ── ledger and budget ───────────────────────────────────────────────────────────────────

export type PricedBy = 'table' | 'override' | 'fallback';

export interface UsageUpdate {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  costUsd: number;
  priced: PricedBy;
  /** The stream ended before the final usage figure was seen. */
  partial: boolean;
  /** No usage could be found in the response (recorded, counted, costs 0). */
  usageMissing?: boolean;
  runId?: string | null;
  atMs: number;
}

export interface UsageRow extends UsageUpdate {
  sandboxId: string;
  exchangeId: string;
  usageMissing: boolean;
  runId: string | null;
  /** When the row was first written. */
  firstAtMs: number;
}

export interface UsageTotal {
  provider: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  costUsd: number;
  /** The least trustworthy pricing source among the rows (fallback > override > table). */
  priced: PricedBy;
  missingUsage: number;
  partial: number;
}

export interface UsageFilter {
  runId?: string;
  sinceMs?: number;
  untilMs?: number;
}

export type BudgetDimension = 'ai' | 'compute';

export interface BudgetRecord {
  sandboxId: string;
  aiLimitUsd: number | null;
  computeLimitUsd: number | null;
  warningThreshold: number;
  aiWarned: boolean;
  computeWarned: boolean;
  computeRatePerHourUsd: number;
  computeRateSource: string;
  runningS: number;
  pausedS: number;
  computeSpentUsd: number;
}

/** A sandbox's budget row with its committed AI total, read together (what the meter checks). */
export interface AiBudget {
  budget: BudgetRecord;
  aiSpentUsd: number;
}

export interface ComputeTime {
  /** Seconds to add to the running total (charged at the current rate). */
  runningS?: number;
  pausedS?: number;
}

export * from './types-records.ts';
