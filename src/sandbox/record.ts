/**
 * The sandbox record as the CLI and the API show it (SPEC §8.5): snake_case JSON, RFC 3339
 * UTC times, remaining durations in whole seconds. Pure.
 */
import { toIso } from '../core/clock.ts';
import type { BudgetRecord, SandboxRecord } from '../store/index.ts';

export interface BudgetDimensionJson {
  spent_usd: number;
  limit_usd: number | null;
}

export interface SandboxJson {
  id: string;
  alias: string | null;
  number: number;
  profile: string;
  substrate: string;
  region: string | null;
  status: string;
  status_reason: string | null;
  paused_by: string | null;
  created_at: string;
  expires_at: string | null;
  ttl_remaining_s: number | null;
  idle_timeout_s: number | null;
  idle_remaining_s: number | null;
  max_expires_at: string | null;
  teardown_policy: string;
  locked: boolean;
  locked_at: string | null;
  cloned_from: string | null;
  image: string | null;
  enforcement: { requested: string; effective: string | null };
  budget: { state: 'ok' | 'warning' | 'exhausted'; ai: BudgetDimensionJson; compute: BudgetDimensionJson };
  email_address: string | null;
  created_by: string;
  destroyed_at: string | null;
}

export interface Spend {
  aiSpentUsd: number;
  budget: BudgetRecord | undefined;
}

const LIVE_CLOCKS = new Set(['creating', 'running', 'paused', 'stopped']);

/** Seconds until expiry (0 once expired); null without a TTL or once destroyed/failed. */
export function ttlRemainingS(s: SandboxRecord, nowMs: number): number | null {
  if (s.expiresAtMs === null || !LIVE_CLOCKS.has(s.status)) return null;
  return Math.max(0, Math.floor((s.expiresAtMs - nowMs) / 1000));
}

/** The instant the idle clock started: the later of the last activity and the last start. */
export function idleSinceMs(s: SandboxRecord): number {
  return Math.max(s.lastActivityAtMs ?? 0, s.lastStartedAtMs ?? 0, s.createdAtMs);
}

/** Seconds until the idle timeout fires; null unless running with an idle timeout. */
export function idleRemainingS(s: SandboxRecord, nowMs: number): number | null {
  if (s.status !== 'running' || s.idleTimeoutS === null || s.idleTimeoutS <= 0) return null;
  return Math.max(0, Math.floor((idleSinceMs(s) + s.idleTimeoutS * 1000 - nowMs) / 1000));
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

function budgetState(ai: BudgetDimensionJson, compute: BudgetDimensionJson, threshold: number): 'ok' | 'warning' | 'exhausted' {
  const dims = [ai, compute].filter((d) => d.limit_usd !== null) as Array<{ spent_usd: number; limit_usd: number }>;
  if (dims.some((d) => d.spent_usd >= d.limit_usd)) return 'exhausted';
  if (dims.some((d) => d.spent_usd >= d.limit_usd * threshold)) return 'warning';
  return 'ok';
}

export function sandboxJson(s: SandboxRecord, nowMs: number, spend?: Spend): SandboxJson {
  const ai = { spent_usd: round(spend?.aiSpentUsd ?? 0), limit_usd: spend?.budget?.aiLimitUsd ?? s.aiLimitUsd };
  const compute = { spent_usd: round(spend?.budget?.computeSpentUsd ?? 0), limit_usd: spend?.budget?.computeLimitUsd ?? s.computeLimitUsd };
  return {
    id: s.id,
    alias: s.alias,
    number: s.number,
    profile: s.profileName,
    substrate: s.substrate,
    region: s.region,
    status: s.status,
    status_reason: s.statusReason,
    paused_by: s.pausedBy,
    created_at: toIso(s.createdAtMs),
    expires_at: s.expiresAtMs === null ? null : toIso(s.expiresAtMs),
    ttl_remaining_s: ttlRemainingS(s, nowMs),
    idle_timeout_s: s.idleTimeoutS,
    idle_remaining_s: idleRemainingS(s, nowMs),
    max_expires_at: s.maxExpiresAtMs === null ? null : toIso(s.maxExpiresAtMs),
    teardown_policy: s.teardownPolicy,
    locked: s.locked,
    locked_at: s.lockedAtMs === null ? null : toIso(s.lockedAtMs),
    cloned_from: s.clonedFrom,
    image: s.image,
    enforcement: { requested: s.enforcementRequested, effective: s.enforcementEffective },
    budget: { state: budgetState(ai, compute, s.warningThreshold), ai, compute },
    email_address: s.emailAddress,
    created_by: s.createdBy,
    destroyed_at: s.destroyedAtMs === null ? null : toIso(s.destroyedAtMs),
  };
}

/** How messages name a sandbox: its alias, else its id. */
export const labelOf = (s: { id: string; alias: string | null }): string => s.alias ?? s.id;
