/** The ledger (SPEC §6.3) and budget rows (§6.4, §6.5): idempotent usage rows, atomic adds. */
import { KmError } from '../../core/errors.ts';
import type { LedgerStore } from '../store.ts';
import type { AiBudget, BudgetRecord, PricedBy, UsageFilter, UsageRow, UsageTotal, UsageUpdate } from '../types.ts';
import type { Db, Param, Row } from './db.ts';
import { bool, num, optNum, optStr, placeholders, str } from './rows.ts';

const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'cacheWriteTokens', 'cacheReadTokens', 'cachedInputTokens', 'reasoningTokens'] as const;
const PRICED_RANK = `MAX(CASE priced WHEN 'fallback' THEN 2 WHEN 'override' THEN 1 ELSE 0 END)`;
const RANK_TO_PRICED: readonly PricedBy[] = ['table', 'override', 'fallback'];

function decodeUsage(r: Row): UsageRow {
  return {
    sandboxId: str(r, 'sandbox_id'),
    exchangeId: str(r, 'exchange_id'),
    provider: str(r, 'provider'),
    model: str(r, 'model'),
    inputTokens: num(r, 'input_tokens'),
    outputTokens: num(r, 'output_tokens'),
    cacheWriteTokens: num(r, 'cache_write_tokens'),
    cacheReadTokens: num(r, 'cache_read_tokens'),
    cachedInputTokens: num(r, 'cached_input_tokens'),
    reasoningTokens: num(r, 'reasoning_tokens'),
    costUsd: num(r, 'cost_usd'),
    priced: str(r, 'priced') as PricedBy,
    partial: bool(r, 'partial'),
    usageMissing: bool(r, 'usage_missing'),
    runId: optStr(r, 'run_id'),
    firstAtMs: num(r, 'first_at_ms'),
    atMs: num(r, 'at_ms'),
  };
}

function decodeBudget(r: Row): BudgetRecord {
  return {
    sandboxId: str(r, 'sandbox_id'),
    aiLimitUsd: optNum(r, 'ai_limit_usd'),
    computeLimitUsd: optNum(r, 'compute_limit_usd'),
    warningThreshold: num(r, 'warning_threshold'),
    aiWarned: bool(r, 'ai_warned'),
    computeWarned: bool(r, 'compute_warned'),
    computeRatePerHourUsd: num(r, 'compute_rate_per_hour_usd'),
    computeRateSource: str(r, 'compute_rate_source'),
    runningS: num(r, 'running_s'),
    pausedS: num(r, 'paused_s'),
    computeSpentUsd: num(r, 'compute_spent_usd'),
  };
}

function checkUsage(u: UsageUpdate): void {
  for (const k of TOKEN_FIELDS) {
    if (!Number.isSafeInteger(u[k]) || u[k] < 0) throw new KmError('internal', `usage ${k} must be a non-negative integer, got ${u[k]}`);
  }
  if (!Number.isFinite(u.costUsd) || u.costUsd < 0) throw new KmError('internal', `usage costUsd must be a non-negative number, got ${u.costUsd}`);
}

function filterSql(sandboxId: string, f: UsageFilter = {}): { where: string; params: Param[] } {
  const parts = ['sandbox_id = ?'];
  const params: Param[] = [sandboxId];
  if (f.runId !== undefined) (parts.push('run_id = ?'), params.push(f.runId));
  if (f.sinceMs !== undefined) (parts.push('first_at_ms >= ?'), params.push(f.sinceMs));
  if (f.untilMs !== undefined) (parts.push('first_at_ms < ?'), params.push(f.untilMs));
  return { where: parts.join(' AND '), params };
}

const positive = (label: string, v: number | undefined): void => {
  if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new KmError('usage', `${label} must be a positive amount in USD, got ${v}`);
};

/** Built once: the gateway runs it on every metered response (twice per stream). */
const UPSERT_USAGE = `INSERT INTO ledger (sandbox_id, exchange_id, provider, model, input_tokens, output_tokens, cache_write_tokens,
     cache_read_tokens, cached_input_tokens, reasoning_tokens, cost_usd, priced, partial, usage_missing, run_id,
     first_at_ms, at_ms)
   VALUES (${placeholders(17)})
   ON CONFLICT (sandbox_id, exchange_id) DO UPDATE SET
     provider = excluded.provider, model = excluded.model, input_tokens = excluded.input_tokens,
     output_tokens = excluded.output_tokens, cache_write_tokens = excluded.cache_write_tokens,
     cache_read_tokens = excluded.cache_read_tokens, cached_input_tokens = excluded.cached_input_tokens,
     reasoning_tokens = excluded.reasoning_tokens, cost_usd = excluded.cost_usd, priced = excluded.priced,
     partial = excluded.partial, usage_missing = excluded.usage_missing,
     run_id = COALESCE(excluded.run_id, ledger.run_id), at_ms = excluded.at_ms`;

const ROW_COST = 'SELECT cost_usd FROM ledger WHERE sandbox_id = ? AND exchange_id = ?';

/** Built once: the meter reads it on every AI request and every commit. */
const AI_BUDGET = `SELECT b.*, COALESCE(s.spent_usd, 0) AS ai_spent_usd FROM budgets b LEFT JOIN ai_spend s ON s.sandbox_id = b.sandbox_id WHERE b.sandbox_id = ?`;

export function createLedgerStore(db: Db): LedgerStore {
  const upsert = (sandboxId: string, exchangeId: string, u: UsageUpdate): void => {
    checkUsage(u);
    db.run(
      UPSERT_USAGE,
      sandboxId,
      exchangeId,
      u.provider,
      u.model,
      ...TOKEN_FIELDS.map((k) => u[k]),
      u.costUsd,
      u.priced,
      u.partial ? 1 : 0,
      u.usageMissing ? 1 : 0,
      u.runId ?? null,
      u.atMs,
      u.atMs,
    );
  };
  const aiBudgetSync = (id: string): AiBudget | undefined => {
    const r = db.get(AI_BUDGET, id);
    return r ? { budget: decodeBudget(r), aiSpentUsd: Math.max(0, num(r, 'ai_spent_usd')) } : undefined;
  };
  const budgetSync = (id: string): BudgetRecord | undefined => {
    const r = db.get('SELECT * FROM budgets WHERE sandbox_id = ?', id);
    return r ? decodeBudget(r) : undefined;
  };
  const mustBudget = (id: string): BudgetRecord => {
    const b = budgetSync(id);
    if (!b) throw new KmError('not_found', `no sandbox with id ${id}`, { hint: 'see km list --all' });
    return b;
  };
  const label = (id: string): string => {
    const r = db.get('SELECT alias FROM sandboxes WHERE id = ?', id);
    return (r && optStr(r, 'alias')) ?? id;
  };
  return {
    upsertUsage: async (sandboxId, exchangeId, u) => upsert(sandboxId, exchangeId, u),
    commitUsage: async (sandboxId, exchangeId, u) =>
      db.tx(() => {
        const before = db.get(ROW_COST, sandboxId, exchangeId);
        upsert(sandboxId, exchangeId, u);
        const state = aiBudgetSync(sandboxId);
        return state ? { ...state, deltaUsd: u.costUsd - (before ? num(before, 'cost_usd') : 0) } : undefined;
      }),
    aiBudget: async (sandboxId) => aiBudgetSync(sandboxId),
    listUsage: async (sandboxId, filter) => {
      const f = filterSql(sandboxId, filter);
      return db.all(`SELECT * FROM ledger WHERE ${f.where} ORDER BY first_at_ms, exchange_id`, ...f.params).map(decodeUsage);
    },
    usageTotals: async (sandboxId, filter) => {
      const f = filterSql(sandboxId, filter);
      const rows = db.all(
        `SELECT provider, model, COUNT(*) AS requests, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
           SUM(cache_write_tokens) AS cache_write_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
           SUM(cached_input_tokens) AS cached_input_tokens, SUM(reasoning_tokens) AS reasoning_tokens,
           SUM(cost_usd) AS cost_usd, ${PRICED_RANK} AS priced_rank, SUM(usage_missing) AS missing, SUM(partial) AS partial
         FROM ledger WHERE ${f.where} GROUP BY provider, model ORDER BY provider, model`,
        ...f.params,
      );
      return rows.map(
        (r): UsageTotal => ({
          provider: str(r, 'provider'),
          model: str(r, 'model'),
          requests: num(r, 'requests'),
          inputTokens: num(r, 'input_tokens'),
          outputTokens: num(r, 'output_tokens'),
          cacheWriteTokens: num(r, 'cache_write_tokens'),
          cacheReadTokens: num(r, 'cache_read_tokens'),
          cachedInputTokens: num(r, 'cached_input_tokens'),
          reasoningTokens: num(r, 'reasoning_tokens'),
          costUsd: num(r, 'cost_usd'),
          priced: RANK_TO_PRICED[num(r, 'priced_rank')] ?? 'fallback',
          missingUsage: num(r, 'missing'),
          partial: num(r, 'partial'),
        }),
      );
    },
    // The running total kept by the ledger's triggers (schema step 4): one row, however long the ledger.
    aiSpentUsd: async (sandboxId) => {
      const r = db.get('SELECT spent_usd FROM ai_spend WHERE sandbox_id = ?', sandboxId);
      return r ? Math.max(0, num(r, 'spent_usd')) : 0;
    },
    getBudget: async (id) => budgetSync(id),
    addToBudgetLimits: async (id, add) => {
      if (add.aiUsd === undefined && add.computeUsd === undefined) throw new KmError('usage', 'nothing to add; pass --ai and/or --compute');
      positive('--ai', add.aiUsd);
      positive('--compute', add.computeUsd);
      return db.tx(() => {
        const cur = mustBudget(id);
        for (const [dim, amount, limit] of [['ai', add.aiUsd, cur.aiLimitUsd], ['compute', add.computeUsd, cur.computeLimitUsd]] as const) {
          if (amount !== undefined && limit === null) {
            throw new KmError('invalid_state', `${label(id)} has no ${dim === 'ai' ? 'AI' : 'compute'} limit; nothing to top up`, { details: { dimension: dim } });
          }
        }
        db.run(
          'UPDATE budgets SET ai_limit_usd = ai_limit_usd + ?, compute_limit_usd = compute_limit_usd + ? WHERE sandbox_id = ?',
          add.aiUsd ?? 0,
          add.computeUsd ?? 0,
          id,
        );
        return mustBudget(id);
      });
    },
    setBudgetLimits: async (id, limits) =>
      db.tx(() => {
        mustBudget(id);
        if (limits.aiLimitUsd !== undefined) db.run('UPDATE budgets SET ai_limit_usd = ? WHERE sandbox_id = ?', limits.aiLimitUsd, id);
        if (limits.computeLimitUsd !== undefined) db.run('UPDATE budgets SET compute_limit_usd = ? WHERE sandbox_id = ?', limits.computeLimitUsd, id);
        if (limits.warningThreshold !== undefined) db.run('UPDATE budgets SET warning_threshold = ? WHERE sandbox_id = ?', limits.warningThreshold, id);
        return mustBudget(id);
      }),
    setBudgetWarned: async (id, dimension, warned) => {
      const col = dimension === 'ai' ? 'ai_warned' : 'compute_warned';
      return db.run(`UPDATE budgets SET ${col} = ? WHERE sandbox_id = ? AND ${col} = ?`, warned ? 1 : 0, id, warned ? 0 : 1).changes === 1;
    },
    setComputeRate: async (id, rate, source) => {
      if (!Number.isFinite(rate) || rate < 0) throw new KmError('internal', `compute rate must be a non-negative number, got ${rate}`);
      if (db.run('UPDATE budgets SET compute_rate_per_hour_usd = ?, compute_rate_source = ? WHERE sandbox_id = ?', rate, source, id).changes === 0) mustBudget(id);
    },
    addComputeTime: async (id, time) => {
      const running = time.runningS ?? 0;
      const paused = time.pausedS ?? 0;
      if (!(running >= 0 && paused >= 0)) throw new KmError('internal', 'compute time to add must be non-negative');
      db.run(
        `UPDATE budgets SET running_s = running_s + ?, paused_s = paused_s + ?,
           compute_spent_usd = compute_spent_usd + ? * compute_rate_per_hour_usd / 3600.0 WHERE sandbox_id = ?`,
        running,
        paused,
        running,
        id,
      );
      return mustBudget(id);
    },
  };
}
