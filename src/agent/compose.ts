/**
 * The result document of a run (SPEC §10.4): the agent's own JSON (Claude Code's untouched,
 * Codex/Goose normalised) plus a `km` object with what km knows — status, times, the usage the
 * gateway metered for the run (by run id, else by time window), whether that matches what the
 * agent reports about itself, gateway denials during the run, and the budget.
 */
import { toIso } from '../core/clock.ts';
import type { EventRecord, RunRecord, SandboxRecord, Store, UsageTotal } from '../store/index.ts';
import type { AgentKind } from './commands.ts';
import type { AgentUsage, ParsedResult } from './results.ts';

/** The rule/error the metering layer uses when the AI budget refuses a request. */
export const AI_BUDGET_RULE = 'budget.ai.maxSpendUSD';

export interface MeteredUsage {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  by_model: Array<Record<string, unknown>>;
  attribution: 'exact' | 'window';
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

function summarise(totals: UsageTotal[], attribution: MeteredUsage['attribution']): MeteredUsage {
  const sum = (f: (t: UsageTotal) => number) => totals.reduce((a, t) => a + f(t), 0);
  return {
    requests: sum((t) => t.requests),
    input_tokens: sum((t) => t.inputTokens),
    output_tokens: sum((t) => t.outputTokens),
    cache_read_tokens: sum((t) => t.cacheReadTokens),
    cache_write_tokens: sum((t) => t.cacheWriteTokens),
    cost_usd: round(sum((t) => t.costUsd)),
    by_model: totals.map((t) => ({
      provider: t.provider, model: t.model, requests: t.requests,
      input_tokens: t.inputTokens, output_tokens: t.outputTokens,
      cache_write_tokens: t.cacheWriteTokens, cache_read_tokens: t.cacheReadTokens,
      cached_input_tokens: t.cachedInputTokens, reasoning_tokens: t.reasoningTokens,
      cost_usd: round(t.costUsd), priced: t.priced, missing_usage: t.missingUsage,
    })),
    attribution,
  };
}

/** Usage attributed to the run: rows carrying its id, else every row in its time window. */
export async function meteredUsage(store: Store, sandboxId: string, run: RunRecord, untilMs: number): Promise<MeteredUsage> {
  const exact = await store.usageTotals(sandboxId, { runId: run.runId });
  if (exact.length > 0) return summarise(exact, 'exact');
  // Gateway event times have whole-second precision: start the window at the run's second.
  const since = Math.floor((run.startedAtMs ?? run.createdAtMs) / 1000) * 1000;
  return summarise(await store.usageTotals(sandboxId, { sinceMs: since, untilMs }), 'window');
}

export function usageMismatch(self: AgentUsage | null, metered: MeteredUsage): boolean {
  if (self === null) return false;
  return (
    self.input_tokens !== metered.input_tokens ||
    self.output_tokens !== metered.output_tokens ||
    self.cache_read_tokens !== metered.cache_read_tokens ||
    self.cache_write_tokens !== metered.cache_write_tokens
  );
}

const isDenial = (e: EventRecord): boolean => e.detail.decision === 'deny';
export const isBudgetDenial = (e: EventRecord): boolean =>
  e.detail.error === 'ai_budget_exhausted' || e.detail.rule === AI_BUDGET_RULE || e.detail.deny_reason === 'ai_budget_exhausted';

/** Gateway events of the sandbox between the run's start and end. */
export async function runEvents(store: Store, sandboxId: string, run: RunRecord, untilMs: number): Promise<EventRecord[]> {
  // Gateway event times have whole-second precision: start the window at the run's second.
  const since = Math.floor((run.startedAtMs ?? run.createdAtMs) / 1000) * 1000;
  const events = await store.queryEvents({ sandboxId, sinceMs: since });
  return events.filter((e) => e.timestampMs <= untilMs && e.source === 'gateway');
}

export interface ComposeInput {
  sandbox: SandboxRecord;
  run: RunRecord;
  parsed: ParsedResult | null;
  events: EventRecord[];
  metered: MeteredUsage;
  budget: { aiSpentUsd: number; aiLimitUsd: number | null; computeSpentUsd: number; computeLimitUsd: number | null };
}

export function kmObject(i: ComposeInput): Record<string, unknown> {
  const { run } = i;
  const mismatch = i.parsed ? usageMismatch(i.parsed.selfReported, i.metered) : false;
  const ended = run.endedAtMs;
  const started = run.startedAtMs;
  return {
    run_id: run.runId,
    sandbox_id: i.sandbox.id,
    alias: i.sandbox.alias,
    agent: run.agent as AgentKind,
    status: run.status,
    status_reason: run.statusReason,
    exit_code: run.exitCode,
    created_at: toIso(run.createdAtMs),
    started_at: started === null ? null : toIso(started),
    ended_at: ended === null ? null : toIso(ended),
    duration_ms: started !== null && ended !== null ? Math.max(0, ended - started) : null,
    usage: i.metered,
    usage_mismatch: mismatch,
    policy_denials: i.events.filter(isDenial).length,
    budget: {
      ai_spent_usd: round(i.budget.aiSpentUsd),
      ai_limit_usd: i.budget.aiLimitUsd,
      compute_spent_usd: round(i.budget.computeSpentUsd),
      compute_limit_usd: i.budget.computeLimitUsd,
      stopped_by: run.status === 'budget_exhausted' ? 'ai' : null,
    },
  };
}

/** The full document: the agent's JSON with the `km` object added (a `km` key of the agent's own is replaced). */
export function resultDocument(i: ComposeInput): Record<string, unknown> {
  const base = i.parsed ? i.parsed.doc : { type: 'result', result: null };
  return { ...base, km: kmObject(i) };
}
