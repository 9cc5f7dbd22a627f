/**
 * The `Store` interface: durable state for sandboxes, runs, the ledger, schedules,
 * identities and events. Two implementations (embedded SQLite, DynamoDB) pass one contract
 * suite (`contract.ts`). Every method is async. State changes are targeted, conditional
 * updates (SPEC §15.4): a lost race surfaces as a KmError (`invalid_state`,
 * `sandbox_locked`, …), never as a half-applied change or a clobbered column.
 */
import type {
  AiBudget,
  BudgetDimension,
  BudgetRecord,
  ComputeTime,
  CreateScheduleOptions,
  EventInput,
  EventQuery,
  EventRecord,
  FireRecord,
  IdentityRecord,
  MailRecord,
  NewMail,
  InsertOptions,
  IntegrityReport,
  ListSandboxOptions,
  LockChange,
  NewRun,
  NewSandbox,
  NewSchedule,
  RunRecord,
  RunStatus,
  RunUpdate,
  SandboxRecord,
  SandboxStatus,
  ScheduleRecord,
  ScheduleStatus,
  StoreLocation,
  TransitionFields,
  TransitionOptions,
  UsageFilter,
  UsageRow,
  UsageTotal,
  UsageUpdate,
} from './types.ts';
import type { TelemetryStore } from './telemetry.ts';

export interface SandboxStore {
  /**
   * Writes a new sandbox row and its budget row in one atomic step: allocates the local
   * number (§8.2), refuses an alias held by a non-destroyed sandbox (`usage`, naming the
   * holder) and, with `maxActive`, refuses past the limit (`limit_reached`).
   */
  insertSandbox(input: NewSandbox, options?: InsertOptions): Promise<SandboxRecord>;
  /** By exact id, destroyed ones included; undefined when unknown. */
  getSandbox(id: string): Promise<SandboxRecord | undefined>;
  /** Case-insensitive; the live holder, else (with `includeDestroyed`) the newest destroyed one. */
  getSandboxByAlias(alias: string, options?: { includeDestroyed?: boolean }): Promise<SandboxRecord | undefined>;
  /** Non-destroyed sandboxes only. */
  getSandboxByNumber(number: number): Promise<SandboxRecord | undefined>;
  /** Ordered by number (destroyed ones last); destroyed ones only with `includeDestroyed` or `statuses`. */
  listSandboxes(options?: ListSandboxOptions): Promise<SandboxRecord[]>;
  /** Non-destroyed sandboxes. */
  countActiveSandboxes(): Promise<number>;
  /**
   * Compare-and-set of the status: applies only when the current status is one of `from`.
   * Returns the updated row. Otherwise throws `invalid_state` naming the current status
   * (`details.current_status`), `not_found` for an unknown id, or `sandbox_locked` when
   * `requireUnlocked` is set and the sandbox is locked.
   */
  transition(
    id: string,
    from: readonly SandboxStatus[],
    to: SandboxStatus,
    fields: TransitionFields,
    options: TransitionOptions,
  ): Promise<SandboxRecord>;
  /** Lock or unlock; reports whether anything changed and since when the lock is held. */
  setLocked(id: string, locked: boolean, atMs: number): Promise<LockChange>;
  /** Targeted update of expiry and/or idle timeout (refused on destroyed sandboxes). */
  setTimers(id: string, timers: { expiresAtMs?: number | null; idleTimeoutS?: number | null }, atMs: number): Promise<SandboxRecord>;
  /** Moves `lastActivityAtMs` forward (never backwards). Returns whether it moved. */
  recordActivity(id: string, atMs: number): Promise<boolean>;
}

export interface RunStore {
  /** Allocates the run id (`YYYYMMDDTHHMMSSZ` of `atMs`, or the next free second). */
  createRun(sandboxId: string, run: NewRun): Promise<RunRecord>;
  /**
   * Targeted update. With `fromStatuses` the update is conditional and a mismatch throws
   * `invalid_state` naming the current status.
   */
  updateRun(sandboxId: string, runId: string, update: RunUpdate, fromStatuses?: readonly RunStatus[]): Promise<RunRecord>;
  getRun(sandboxId: string, runId: string): Promise<RunRecord | undefined>;
  /** Oldest first. */
  listRuns(sandboxId: string, options?: { statuses?: readonly RunStatus[] }): Promise<RunRecord[]>;
}

export interface LedgerStore {
  /**
   * Idempotent: one row per (sandbox, exchange id); a repeated exchange id overwrites the
   * figures in place (they are cumulative), never adds a second row.
   */
  upsertUsage(sandboxId: string, exchangeId: string, usage: UsageUpdate): Promise<void>;
  listUsage(sandboxId: string, filter?: UsageFilter): Promise<UsageRow[]>;
  /** Derived from the rows, per provider and model (sorted by provider, model). */
  usageTotals(sandboxId: string, filter?: UsageFilter): Promise<UsageTotal[]>;
  /** The committed AI total over every model (what the gateway compares to the limit). */
  aiSpentUsd(sandboxId: string): Promise<number>;
  getBudget(sandboxId: string): Promise<BudgetRecord | undefined>;
  /** The budget and the committed AI total in one read (undefined without a budget row). */
  aiBudget(sandboxId: string): Promise<AiBudget | undefined>;
  /**
   * `upsertUsage`, then `aiBudget` as of that commit, in one transaction: the meter's write per
   * usage update (one lock round instead of a write and two reads). `deltaUsd` is what this
   * commit added to the AI total (the cost minus the row's cost before, 0 for a new row).
   */
  commitUsage(sandboxId: string, exchangeId: string, usage: UsageUpdate): Promise<(AiBudget & { deltaUsd: number }) | undefined>;
  /**
   * Adds to existing limits atomically. A dimension without a limit throws `invalid_state`
   * (`details.dimension`) and nothing is changed.
   */
  addToBudgetLimits(sandboxId: string, add: { aiUsd?: number; computeUsd?: number }): Promise<BudgetRecord>;
  /** Replaces limits (create-time overrides). `null` removes a limit. */
  setBudgetLimits(sandboxId: string, limits: { aiLimitUsd?: number | null; computeLimitUsd?: number | null; warningThreshold?: number }): Promise<BudgetRecord>;
  /** Conditional flip of a warning flag; true only for the caller that changed it. */
  setBudgetWarned(sandboxId: string, dimension: BudgetDimension, warned: boolean): Promise<boolean>;
  setComputeRate(sandboxId: string, ratePerHourUsd: number, source: string): Promise<void>;
  /** Atomic adds; running seconds are charged at the current rate. */
  addComputeTime(sandboxId: string, time: ComputeTime): Promise<BudgetRecord>;
}

export interface ScheduleStore {
  /** Unique name: taken → `usage` error, or with `uniquify` the next `-N` suffix. */
  createSchedule(schedule: NewSchedule, options?: CreateScheduleOptions): Promise<ScheduleRecord>;
  getSchedule(name: string): Promise<ScheduleRecord | undefined>;
  /** By name; finished (completed/missed/cancelled) ones only with `includeFinished`. */
  listSchedules(options?: { includeFinished?: boolean }): Promise<ScheduleRecord[]>;
  /** Conditional status change; mismatch → `invalid_state`, unknown → `not_found`. */
  setScheduleStatus(name: string, from: readonly ScheduleStatus[], to: ScheduleStatus): Promise<ScheduleRecord>;
  setNextFire(name: string, nextFireAtMs: number | null): Promise<void>;
  /**
   * Claims the right to execute a fire: succeeds only when no other fire of this schedule
   * is marked running (or the marker is older than `staleAfterMs`). Returns false when
   * another fire holds it.
   */
  claimFire(name: string, fireAtMs: number, atMs: number, staleAfterMs?: number): Promise<boolean>;
  /**
   * Appends a fire to the history and updates the last-fire summary. With `releaseClaim`
   * the claim taken by `claimFire` for the same `fireAtMs` is released.
   */
  recordFire(fire: FireRecord, options?: { releaseClaim?: boolean }): Promise<void>;
  /** Oldest first. */
  fireHistory(name: string, options?: { limit?: number }): Promise<FireRecord[]>;
}

export interface IdentityStore {
  /** Insert or replace. */
  putIdentity(identity: IdentityRecord): Promise<void>;
  getIdentity(id: string): Promise<IdentityRecord | undefined>;
  listIdentities(): Promise<IdentityRecord[]>;
  deleteIdentity(id: string): Promise<boolean>;
}

export interface EventStore {
  /** Appends in order; returns the assigned sequence ids. */
  appendEvents(events: readonly EventInput[]): Promise<number[]>;
  /** Timestamp order (ties in append order); with `afterSeq`, append order. */
  queryEvents(query: EventQuery): Promise<EventRecord[]>;
  /** The newest sequence id (0 when empty): a starting cursor for following. */
  lastEventSeq(): Promise<number>;
}

export interface MailStore {
  /** Idempotent per (mailbox, message id): false when the message was already delivered. */
  deliverMail(message: NewMail): Promise<boolean>;
  /** Oldest first. */
  listMail(mailbox: string, options?: { unreadOnly?: boolean }): Promise<MailRecord[]>;
  getMail(mailbox: string, messageId: string): Promise<MailRecord | undefined>;
  /** Returns how many messages changed from unread to read. */
  markMailRead(mailbox: string, messageIds: readonly string[]): Promise<number>;
  /** Removes a mailbox (at destroy); returns the number of messages removed. */
  deleteMailbox(mailbox: string): Promise<number>;
}

export interface Store extends SandboxStore, RunStore, LedgerStore, ScheduleStore, IdentityStore, EventStore, MailStore, TelemetryStore {
  describe(): StoreLocation;
  /** For `km doctor`: storage integrity and schema version. */
  checkIntegrity(): Promise<IntegrityReport>;
  /** Deletes a sandbox's history (ledger, runs, events, budget) and its row (`--purge`, retention). */
  purgeSandbox(id: string): Promise<void>;
  close(): Promise<void>;
}
