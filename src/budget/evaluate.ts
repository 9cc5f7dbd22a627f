/**
 * Budget evaluation (SPEC §6.5). Pure: limits, spend and warning flags in; the budget state and
 * the actions due now out. Callers apply the actions (notify, block AI, pause) and persist the
 * flags with the store's conditional updates, so a warning is sent exactly once.
 */
export type BudgetState = 'ok' | 'warning' | 'ai_exhausted' | 'compute_exhausted' | 'exhausted';
export type Dimension = 'ai' | 'compute';

export interface BudgetInput {
  ai: { limitUsd: number | null; spentUsd: number; warned: boolean };
  compute: { limitUsd: number | null; spentUsd: number; warned: boolean };
  warningThreshold: number;
}

export interface BudgetVerdict {
  state: BudgetState;
  /** Dimensions that crossed the threshold and were not warned yet. */
  warnNow: Dimension[];
  /** Dimensions back below the threshold (after a top-up): re-arm their warning. */
  rearm: Dimension[];
  aiBlocked: boolean;
  computeExhausted: boolean;
  fraction: Record<Dimension, number | null>;
}

const fractionOf = (d: { limitUsd: number | null; spentUsd: number }): number | null => (d.limitUsd === null || d.limitUsd <= 0 ? null : d.spentUsd / d.limitUsd);

export function evaluateBudget(b: BudgetInput): BudgetVerdict {
  const fraction = { ai: fractionOf(b.ai), compute: fractionOf(b.compute) };
  const warnNow: Dimension[] = [];
  const rearm: Dimension[] = [];
  for (const d of ['ai', 'compute'] as const) {
    const f = fraction[d];
    if (f === null) continue;
    if (f >= b.warningThreshold && !b[d].warned) warnNow.push(d);
    if (f < b.warningThreshold && b[d].warned) rearm.push(d);
  }
  const aiBlocked = fraction.ai !== null && fraction.ai >= 1;
  const computeExhausted = fraction.compute !== null && fraction.compute >= 1;
  const anyWarning = [fraction.ai, fraction.compute].some((f) => f !== null && f >= b.warningThreshold);
  const state: BudgetState = aiBlocked && computeExhausted ? 'exhausted' : aiBlocked ? 'ai_exhausted' : computeExhausted ? 'compute_exhausted' : anyWarning ? 'warning' : 'ok';
  return { state, warnNow, rearm, aiBlocked, computeExhausted, fraction };
}

/** `spend = rate × running hours` (SPEC §6.4), kept to 1e-9 USD. */
export function computeSpendUsd(ratePerHourUsd: number, runningSeconds: number): number {
  return Math.round(((ratePerHourUsd * runningSeconds) / 3600) * 1e9) / 1e9;
}

/**
 * Dollars for messages: whole cents print with two decimals (`$1.00`), anything finer with
 * up to four (`$1.0021`, `$0.0198`), so a spend just over a limit never reads as equal to it.
 */
export function formatUsd(usd: number): string {
  const r = Math.round(usd * 1e4) / 1e4;
  const cents = Math.round(r * 100) / 100;
  return Math.abs(r - cents) < 1e-9 ? `$${cents.toFixed(2)}` : `$${r.toFixed(4).replace(/0+$/, '')}`;
}

/** Extra fields of the `ai_budget_exhausted` 403 body (SPEC §6.5). */
export function aiExhaustedBody(opts: { sandboxId: string; ref: string; spentUsd: number; limitUsd: number }): Record<string, unknown> {
  return {
    spent_usd: Math.round(opts.spentUsd * 1e4) / 1e4,
    limit_usd: opts.limitUsd,
    top_up: `km budget add ${opts.ref} --ai <usd>`,
    message: `AI budget exhausted for ${opts.ref} (${formatUsd(opts.spentUsd)} of ${formatUsd(opts.limitUsd)})`,
  };
}
