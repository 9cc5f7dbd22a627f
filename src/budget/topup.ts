/**
 * `km budget add` (SPEC §6.6): raise limits atomically, re-arm warnings that fell below the
 * threshold, record `budget.topup`, and resume a sandbox its compute budget paused once the
 * budget allows it. The AI block lifts by itself: the gateway compares against the new limit.
 * Works on locked sandboxes (the lock never blocks resume).
 */
import type { Clock } from '../core/clock.ts';
import { toIso } from '../core/clock.ts';
import type { SandboxRecord, Store } from '../store/index.ts';
import { formatUsd } from './evaluate.ts';
import { budgetJson, budgetState, budgetView, type BudgetJson, type BudgetView } from './report.ts';

export interface TopUpDeps {
  store: Pick<Store, 'addToBudgetLimits' | 'setBudgetWarned' | 'getBudget' | 'aiSpentUsd' | 'usageTotals'>;
  clock: Clock;
  onEvent: (e: { timestamp: string; sandbox_id: string; event_type: string; source: string; detail: Record<string, unknown> }) => void;
  /** Resumes the sandbox (the lifecycle's resume; called only for a budget pause). */
  resume: (s: SandboxRecord) => Promise<void>;
}

export interface TopUp {
  aiUsd?: number;
  computeUsd?: number;
}

export interface TopUpResult {
  view: BudgetView;
  resumed: boolean;
  /** Still paused by budget because compute is still spent. */
  stillPaused: boolean;
}

export async function topUpBudget(deps: TopUpDeps, s: SandboxRecord, add: TopUp, priceTableVersion: string): Promise<TopUpResult> {
  await deps.store.addToBudgetLimits(s.id, add);
  let view = await budgetView(deps.store, s, priceTableVersion);
  const verdict = budgetState(view);
  for (const d of verdict.rearm) await deps.store.setBudgetWarned(s.id, d, false);
  const budgetPaused = s.status === 'paused' && s.pausedBy === 'budget';
  const canResume = budgetPaused && !verdict.computeExhausted;
  if (canResume) await deps.resume(s);
  if (verdict.rearm.length > 0) view = await budgetView(deps.store, s, priceTableVersion);
  deps.onEvent({
    timestamp: toIso(deps.clock.now()),
    sandbox_id: s.id,
    event_type: 'budget.topup',
    source: 'km',
    detail: {
      ...(add.aiUsd !== undefined ? { ai_added_usd: add.aiUsd } : {}),
      ...(add.computeUsd !== undefined ? { compute_added_usd: add.computeUsd } : {}),
      ai_limit_usd: view.budget.aiLimitUsd,
      compute_limit_usd: view.budget.computeLimitUsd,
      rearmed: verdict.rearm,
      resumed: canResume,
    },
  });
  return { view: canResume ? { ...view, status: 'running', pausedBy: null } : view, resumed: canResume, stillPaused: budgetPaused && !canResume };
}

const dim = (name: string, spent: number, limit: number | null): string =>
  limit === null ? `${name} ${formatUsd(spent)} (no limit)` : `${name} ${formatUsd(spent)} / ${formatUsd(limit)}`;

/** `Budget for demo: AI $0.97 / $3.00, compute $0.41 / $1.00 — resumed (was paused by budget)` */
export function topUpMessage(r: TopUpResult): string {
  const v = r.view;
  const b = v.budget;
  let line = `Budget for ${v.label}: ${dim('AI', v.aiSpentUsd, b.aiLimitUsd)}, ${dim('compute', b.computeSpentUsd, b.computeLimitUsd)}`;
  if (r.resumed) line += ' — resumed (was paused by budget)';
  else if (r.stillPaused) line += ` — still paused: its compute budget is spent (${formatUsd(b.computeSpentUsd)} of ${formatUsd(b.computeLimitUsd ?? 0)})`;
  return line;
}

export function topUpJson(r: TopUpResult): BudgetJson & { resumed: boolean } {
  return { ...budgetJson(r.view), resumed: r.resumed };
}
