/**
 * `km budget` data, JSON and text (SPEC §6.6). `budgetView` gathers from the store;
 * `budgetJson` and `renderBudget` are pure.
 */
import { formatRemaining } from '../core/duration.ts';
import { printable } from '../core/printable.ts';
import type { BudgetRecord, PausedBy, SandboxRecord, SandboxStatus, Store, UsageTotal } from '../store/index.ts';
import { evaluateBudget, formatUsd, type BudgetState } from './evaluate.ts';

export interface BudgetView {
  sandboxId: string;
  /** Alias, else id: how messages name the sandbox. */
  label: string;
  status: SandboxStatus;
  pausedBy: PausedBy | null;
  locked: boolean;
  budget: BudgetRecord;
  aiSpentUsd: number;
  byModel: UsageTotal[];
  priceTableVersion: string;
}

export type BudgetStore = Pick<Store, 'getBudget' | 'aiSpentUsd' | 'usageTotals'>;

export async function budgetView(store: BudgetStore, s: SandboxRecord, priceTableVersion: string): Promise<BudgetView> {
  const [budget, aiSpentUsd, byModel] = await Promise.all([store.getBudget(s.id), store.aiSpentUsd(s.id), store.usageTotals(s.id)]);
  if (!budget) throw new Error(`no budget row for ${s.id}`);
  return { sandboxId: s.id, label: s.alias ?? s.id, status: s.status, pausedBy: s.pausedBy, locked: s.locked, budget, aiSpentUsd, byModel, priceTableVersion };
}

export function budgetState(v: Pick<BudgetView, 'budget' | 'aiSpentUsd'>): ReturnType<typeof evaluateBudget> {
  const b = v.budget;
  return evaluateBudget({
    ai: { limitUsd: b.aiLimitUsd, spentUsd: v.aiSpentUsd, warned: b.aiWarned },
    compute: { limitUsd: b.computeLimitUsd, spentUsd: b.computeSpentUsd, warned: b.computeWarned },
    warningThreshold: b.warningThreshold,
  });
}

const usd = (n: number): number => Math.round(n * 1e6) / 1e6;

export interface BudgetJson {
  sandbox_id: string;
  state: BudgetState;
  warning_threshold: number;
  ai: { limit_usd: number | null; spent_usd: number; by_model: Array<Record<string, unknown>> };
  compute: { limit_usd: number | null; spent_usd: number; rate_per_hour_usd: number; rate_source: string; running_s: number; paused_s: number };
  price_table_version: string;
}

export function budgetJson(v: BudgetView): BudgetJson {
  const b = v.budget;
  return {
    sandbox_id: v.sandboxId,
    state: budgetState(v).state,
    warning_threshold: b.warningThreshold,
    ai: {
      limit_usd: b.aiLimitUsd,
      spent_usd: usd(v.aiSpentUsd),
      by_model: v.byModel.map((m) => ({
        provider: m.provider,
        model: m.model,
        requests: m.requests,
        input_tokens: m.inputTokens,
        output_tokens: m.outputTokens,
        cache_write_tokens: m.cacheWriteTokens,
        cache_read_tokens: m.cacheReadTokens,
        cached_input_tokens: m.cachedInputTokens,
        reasoning_tokens: m.reasoningTokens,
        cost_usd: usd(m.costUsd),
        priced: m.priced,
        missing_usage: m.missingUsage,
      })),
    },
    compute: {
      limit_usd: b.computeLimitUsd,
      spent_usd: usd(b.computeSpentUsd),
      rate_per_hour_usd: b.computeRatePerHourUsd,
      rate_source: b.computeRateSource,
      running_s: Math.floor(b.runningS),
      paused_s: Math.floor(b.pausedS),
    },
    price_table_version: v.priceTableVersion,
  };
}

const pct = (f: number): string => `${Math.floor(f * 100)}%`;

function dimensionLine(spent: number, limit: number | null, threshold: number, warned: boolean): string {
  if (limit === null) return `${formatUsd(spent)}, no limit`;
  const f = spent / limit;
  const state = f >= 1 ? 'exhausted' : f >= threshold ? 'warning' : 'ok';
  return `${formatUsd(spent)} of ${formatUsd(limit)} (${pct(f)}), ${state}${warned ? ', warning sent' : ''}`;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

function modelTable(rows: UsageTotal[]): string[] {
  const head = ['PROVIDER', 'MODEL', 'REQUESTS', 'INPUT', 'OUTPUT', 'CACHE_WRITE', 'CACHE_READ', 'CACHED_IN', 'REASONING', 'COST', 'PRICED'];
  const body = rows.map((m) => [
    // The model name is whatever the request or the response said: made printable.
    m.provider, printable(m.model), String(m.requests), thousands(m.inputTokens), thousands(m.outputTokens), thousands(m.cacheWriteTokens),
    thousands(m.cacheReadTokens), thousands(m.cachedInputTokens), thousands(m.reasoningTokens), formatUsd(m.costUsd), m.priced,
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd());
}

export function renderBudget(v: BudgetView): string {
  const b = v.budget;
  const st = budgetState(v);
  const lines = [
    `Budget for ${v.label} (${v.sandboxId}): ${st.state}${v.pausedBy === 'budget' && v.status === 'paused' ? ', paused by budget' : ''}`,
    `  AI        ${dimensionLine(v.aiSpentUsd, b.aiLimitUsd, b.warningThreshold, b.aiWarned)}`,
    `  compute   ${dimensionLine(b.computeSpentUsd, b.computeLimitUsd, b.warningThreshold, b.computeWarned)}`,
    `            rate ${formatUsd(b.computeRatePerHourUsd)}/h (${b.computeRateSource}), running ${formatRemaining(b.runningS)}, paused ${formatRemaining(b.pausedS)}`,
    `  warning at ${pct(b.warningThreshold)} of a limit; price table ${v.priceTableVersion}`,
  ];
  if (v.byModel.length === 0) lines.push('', 'No AI usage metered yet.');
  else lines.push('', ...modelTable(v.byModel));
  const missing = v.byModel.reduce((a, m) => a + m.missingUsage, 0);
  const partial = v.byModel.reduce((a, m) => a + m.partial, 0);
  const fallback = v.byModel.filter((m) => m.priced === 'fallback').map((m) => printable(m.model));
  if (missing > 0) lines.push(`${missing} response${missing === 1 ? '' : 's'} without usage figures (usage: missing).`);
  if (partial > 0) lines.push(`${partial} response${partial === 1 ? ' was' : 's were'} cut short; usage seen so far is counted (partial).`);
  if (fallback.length > 0) lines.push(`Priced by the fallback rate (not in the price table): ${fallback.join(', ')}.`);
  return lines.join('\n') + '\n';
}
