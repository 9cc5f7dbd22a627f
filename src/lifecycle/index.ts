/** Lifecycle: TTL/idle teardown (reconciler) and recovery after a kmd restart. */
export { decideTeardown, policyAction, type TeardownAction, type TeardownDecision, type Trigger } from './decide.ts';
export { createReconciler, type Reconciler, type ReconcilerDeps, type ReconcilerOptions } from './reconciler.ts';
export { recoverSandboxes, type RecoverDeps, type RecoverReport } from './recover.ts';
