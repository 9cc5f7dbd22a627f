/**
 * The ledger row, the `ai.usage` event and the `metering.error` event of a metered exchange,
 * shared by the exchange tap and the batch results tap.
 */
import { roundUsd, type PriceBook } from '../pricing/index.ts';
import type { UsageUpdate } from '../store/index.ts';
import type { Clock } from '../core/clock.ts';
import type { MeterRoute, UsageSnapshot } from './parsers/index.ts';
import type { CommitResult, SandboxLedger } from './ledger.ts';

export interface ExchangeMeterDeps {
  ledger: SandboxLedger;
  priceBook: PriceBook;
  clock: Clock;
  /** Called once when the exchange is finished (committed, aborted or failed). */
  done: () => void;
}

export interface ExchangeFacts {
  exchangeId: string;
  route: MeterRoute;
  requestModel: string | null;
  runId: string | null;
  path: string;
}

/** The ledger row for a snapshot (missing usage: zero figures, zero cost; `batch`: batch prices). */
export function rowOf(deps: ExchangeMeterDeps, facts: ExchangeFacts, snap: UsageSnapshot, partial: boolean, missing: boolean, batch = false): UsageUpdate {
  const provider = facts.route.provider;
  const model = snap.model ?? (facts.route.provider === 'bedrock' ? facts.route.model : facts.requestModel) ?? 'unknown';
  const priced = deps.priceBook.cost(provider, model, snap.usage, { batch });
  const u = snap.usage;
  return {
    provider,
    model,
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    cacheWriteTokens: u.cacheWriteTokens + u.cacheWrite1hTokens,
    cacheReadTokens: u.cacheReadTokens,
    cachedInputTokens: u.cachedInputTokens,
    reasoningTokens: u.reasoningTokens,
    costUsd: missing ? 0 : priced.costUsd,
    priced: priced.source,
    partial,
    usageMissing: missing,
    runId: facts.runId,
    atMs: deps.clock.now(),
  };
}

/** The `ai.usage` event of a finished exchange (SPEC §13.1). */
export function usageDetail(facts: ExchangeFacts, status: number, row: UsageUpdate, r: CommitResult, exchangeId = facts.exchangeId): Record<string, unknown> {
  return {
    exchange_id: exchangeId,
    provider: row.provider,
    model: row.model,
    path: facts.path.split('?')[0],
    status,
    ...(row.usageMissing ? { usage: 'missing' } : {}),
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    cache_write_tokens: row.cacheWriteTokens,
    cache_read_tokens: row.cacheReadTokens,
    cached_input_tokens: row.cachedInputTokens,
    reasoning_tokens: row.reasoningTokens,
    cost_usd: row.costUsd,
    priced: row.priced,
    partial: row.partial,
    ...(facts.runId ? { run_id: facts.runId } : {}),
    ...(r.limitUsd !== null && r.totalUsd > r.limitUsd ? { overshoot_usd: roundUsd(r.totalUsd - r.limitUsd) } : {}),
  };
}

/** A `metering.error` event for the exchange (a failure never affects the body it meters). */
export function meteringError(deps: Pick<ExchangeMeterDeps, 'ledger'>, facts: Pick<ExchangeFacts, 'exchangeId'>, err: unknown): void {
  deps.ledger.emit('metering.error', { exchange_id: facts.exchangeId, error: String(err) });
}
