/**
 * One sandbox's ledger writer (SPEC §6.3, §6.5). Every committed update goes through one
 * FIFO queue per sandbox, so rows of one exchange are written in order, and the AI total
 * before each commit is known exactly (total after − this commit's delta): the warning and
 * the exhaustion event fire at the commit that crosses, once.
 */
import type { Clock } from '../core/clock.ts';
import { toIso } from '../core/clock.ts';
import { evaluateBudget } from '../budget/index.ts';
import { roundUsd } from '../pricing/index.ts';
import type { AiBudget, BudgetRecord, Store, UsageUpdate } from '../store/index.ts';

export interface MeterEvent {
  timestamp: string;
  sandbox_id: string;
  event_type: string;
  source: string;
  detail: Record<string, unknown>;
}

export type MeterStore = Pick<Store, 'commitUsage' | 'aiBudget' | 'setBudgetWarned'>;

export interface LedgerDeps {
  store: MeterStore;
  clock: Clock;
  onEvent: (e: MeterEvent) => void;
  /** How many metered responses are streaming now (reported with the exhaustion). */
  inFlight: () => number;
}

export interface CommitResult {
  /** The AI total after this commit (only read when there is a limit; 0 otherwise). */
  totalUsd: number;
  limitUsd: number | null;
}

export interface SandboxLedger {
  /** Queues an upsert of the exchange's row. Resolves once committed and evaluated. */
  commit(exchangeId: string, row: UsageUpdate): Promise<CommitResult>;
  /** Resolves when every queued commit has settled. */
  settled(): Promise<void>;
  emit(eventType: string, detail: Record<string, unknown>): void;
}

export function createSandboxLedger(deps: LedgerDeps, sandboxId: string): SandboxLedger {
  let tail: Promise<unknown> = Promise.resolve();
  const emit = (eventType: string, detail: Record<string, unknown>): void => {
    try {
      deps.onEvent({ timestamp: toIso(deps.clock.now()), sandbox_id: sandboxId, event_type: eventType, source: 'gateway', detail });
    } catch {
      // An event sink failure never affects the exchange.
    }
  };

  /** The commit's outcome against the budget as of that commit (`state`, read in its transaction). */
  async function evaluate(state: AiBudget | undefined, deltaUsd: number): Promise<CommitResult> {
    const limit = state?.budget.aiLimitUsd ?? null;
    if (!state || limit === null) return { totalUsd: 0, limitUsd: null };
    const total = state.aiSpentUsd;
    const before = total - deltaUsd;
    await maybeWarn(state.budget, total);
    if (total >= limit && before < limit) {
      emit('budget.exhausted', {
        dimension: 'ai',
        spent_usd: roundUsd(total),
        limit_usd: limit,
        overshoot_usd: roundUsd(Math.max(0, total - limit)),
        in_flight: deps.inFlight(),
      });
    }
    return { totalUsd: total, limitUsd: limit };
  }

  async function maybeWarn(budget: BudgetRecord, total: number): Promise<void> {
    const v = evaluateBudget({
      ai: { limitUsd: budget.aiLimitUsd, spentUsd: total, warned: budget.aiWarned },
      compute: { limitUsd: budget.computeLimitUsd, spentUsd: budget.computeSpentUsd, warned: budget.computeWarned },
      warningThreshold: budget.warningThreshold,
    });
    if (!v.warnNow.includes('ai')) return;
    if (!(await deps.store.setBudgetWarned(sandboxId, 'ai', true))) return;
    emit('budget.warning', {
      dimension: 'ai',
      spent_usd: roundUsd(total),
      limit_usd: budget.aiLimitUsd,
      threshold: budget.warningThreshold,
      fraction: Math.round((v.fraction.ai ?? 0) * 1e4) / 1e4,
    });
  }

  return {
    commit(exchangeId, row) {
      const run = async (): Promise<CommitResult> => {
        const state = await deps.store.commitUsage(sandboxId, exchangeId, row);
        return evaluate(state, state?.deltaUsd ?? 0);
      };
      const p = tail.then(run, run);
      tail = p.catch(() => undefined);
      return p;
    },
    settled: () => tail.then(() => undefined),
    emit,
  };
}

/** A meter event in the store's shape (for `appendEvents` / kmd's event recorder). */
export function toEventInput(e: MeterEvent): { timestampMs: number; sandboxId: string; eventType: string; source: string; detail: Record<string, unknown> } {
  return { timestampMs: Date.parse(e.timestamp), sandboxId: e.sandbox_id, eventType: e.event_type, source: e.source, detail: e.detail };
}
