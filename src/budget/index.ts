export { aiExhaustedBody, computeSpendUsd, evaluateBudget, type BudgetInput, type BudgetState, type BudgetVerdict, type Dimension } from './evaluate.ts';
