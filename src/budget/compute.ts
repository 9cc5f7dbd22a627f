/**
 * Compute spend (SPEC §6.4, §6.5): the hourly rate and its source, accrual of running and
 * paused time, and what the lifecycle must do when the compute budget is spent. The
 * reconciler calls `accrueCompute` every 60 s and at each state change, then applies the
 * returned action (`pause` with `paused_by: budget`, unless the sandbox is locked).
 */
import type { Clock } from '../core/clock.ts';
import { toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { instanceHourlyUsd } from '../pricing/index.ts';
import type { BudgetRecord, SandboxRecord, Store } from '../store/index.ts';
import { evaluateBudget, formatUsd } from './evaluate.ts';

export interface ComputeRate {
  ratePerHourUsd: number;
  /** `profile` (budget.compute.ratePerHourUSD), `list_price:<type>`, or `none`. */
  source: string;
}

export interface RateInput {
  /** budget.compute.ratePerHourUSD */
  ratePerHourUsd?: number | undefined;
  /** runtime.instanceType */
  instanceType?: string | undefined;
}

/** First match wins: the profile's rate, the instance type's list price, else 0. */
export function computeRateFor(input: RateInput): ComputeRate {
  if (input.ratePerHourUsd !== undefined) return { ratePerHourUsd: input.ratePerHourUsd, source: 'profile' };
  if (input.instanceType !== undefined) {
    const price = instanceHourlyUsd(input.instanceType);
    if (price !== undefined) return { ratePerHourUsd: price, source: `list_price:${input.instanceType.toLowerCase()}` };
  }
  return { ratePerHourUsd: 0, source: 'none' };
}

/** The rate inputs of a resolved profile (tolerant of the profile being opaque to the store). */
export function rateInputOf(profile: unknown): RateInput {
  const spec = (profile as { spec?: { budget?: { compute?: { ratePerHourUSD?: unknown } }; runtime?: { instanceType?: unknown } } } | null)?.spec;
  const rate = spec?.budget?.compute?.ratePerHourUSD;
  const type = spec?.runtime?.instanceType;
  return {
    ...(typeof rate === 'number' ? { ratePerHourUsd: rate } : {}),
    ...(typeof type === 'string' ? { instanceType: type } : {}),
  };
}

export type ComputeAction = 'none' | 'pause' | 'locked';

/** What the lifecycle does now: pause a running sandbox whose compute budget is spent, unless locked. */
export function computeBudgetAction(budget: BudgetRecord, sandbox: Pick<SandboxRecord, 'status' | 'locked'>): ComputeAction {
  const limit = budget.computeLimitUsd;
  if (limit === null || budget.computeSpentUsd < limit || sandbox.status !== 'running') return 'none';
  return sandbox.locked ? 'locked' : 'pause';
}

export interface ComputeDeps {
  store: Pick<Store, 'addComputeTime' | 'setBudgetWarned'>;
  clock: Clock;
  onEvent: (e: { timestamp: string; sandbox_id: string; event_type: string; source: string; detail: Record<string, unknown> }) => void;
}

export interface ComputeAccrual {
  budget: BudgetRecord;
  action: ComputeAction;
  /** This accrual crossed the limit (the exhaustion event was recorded). */
  crossed: boolean;
}

/**
 * Adds running/paused seconds (running time is charged at the stored rate), records the
 * one-time warning and the exhaustion event at the crossing, and returns the action due.
 */
export async function accrueCompute(
  deps: ComputeDeps,
  sandbox: Pick<SandboxRecord, 'id' | 'status' | 'locked'>,
  time: { runningS: number; pausedS?: number },
): Promise<ComputeAccrual> {
  const budget = await deps.store.addComputeTime(sandbox.id, { runningS: time.runningS, pausedS: time.pausedS ?? 0 });
  const emit = (type: string, detail: Record<string, unknown>): void =>
    deps.onEvent({ timestamp: toIso(deps.clock.now()), sandbox_id: sandbox.id, event_type: type, source: 'budget', detail });
  const limit = budget.computeLimitUsd;
  const action = computeBudgetAction(budget, sandbox);
  if (limit === null) return { budget, action, crossed: false };
  const before = budget.computeSpentUsd - (time.runningS * budget.computeRatePerHourUsd) / 3600;
  const v = evaluateBudget({
    ai: { limitUsd: null, spentUsd: 0, warned: false },
    compute: { limitUsd: limit, spentUsd: budget.computeSpentUsd, warned: budget.computeWarned },
    warningThreshold: budget.warningThreshold,
  });
  const base = { dimension: 'compute', spent_usd: round(budget.computeSpentUsd), limit_usd: limit };
  if (v.warnNow.includes('compute') && (await deps.store.setBudgetWarned(sandbox.id, 'compute', true))) {
    emit('budget.warning', { ...base, threshold: budget.warningThreshold, fraction: Math.round((v.fraction.compute ?? 0) * 1e4) / 1e4 });
  }
  const crossed = budget.computeSpentUsd >= limit && before < limit;
  if (crossed) emit('budget.exhausted', { ...base, action: action === 'none' ? 'none' : action === 'pause' ? 'pause' : 'not_paused_locked' });
  return { budget, action, crossed };
}

const round = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/**
 * `km resume` of a sandbox its compute budget paused, without a top-up (SPEC §6.5):
 * the error to throw, or undefined when resuming is allowed.
 */
export function budgetResumeRefusal(ref: string, sandbox: Pick<SandboxRecord, 'pausedBy'>, budget: BudgetRecord): KmError | undefined {
  const limit = budget.computeLimitUsd;
  if (sandbox.pausedBy !== 'budget' || limit === null || budget.computeSpentUsd < limit) return undefined;
  return new KmError('invalid_state', `${ref} was paused because its compute budget is spent (${formatUsd(budget.computeSpentUsd)} of ${formatUsd(limit)})`, {
    hint: `km budget add ${ref} --compute <usd>`,
  });
}
