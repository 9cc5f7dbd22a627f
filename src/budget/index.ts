/**
 * Budgets (SPEC §6.4–§6.6): evaluation (pure), compute accrual and the pause decision,
 * the `km budget` view and the top-up.
 */
export { aiExhaustedBody, computeSpendUsd, evaluateBudget, formatUsd, type BudgetInput, type BudgetState, type BudgetVerdict, type Dimension } from './evaluate.ts';
export {
  accrueCompute, budgetResumeRefusal, computeBudgetAction, computeRateFor, rateInputOf,
  type ComputeAccrual, type ComputeAction, type ComputeDeps, type ComputeRate, type RateInput,
} from './compute.ts';
export { budgetJson, budgetState, budgetView, renderBudget, type BudgetJson, type BudgetStore, type BudgetView } from './report.ts';
export { topUpBudget, topUpJson, topUpMessage, type TopUp, type TopUpDeps, type TopUpResult } from './topup.ts';
export { createComputeAccruer, type ComputeAccruer } from './accruer.ts';
