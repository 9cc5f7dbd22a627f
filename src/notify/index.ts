/**
 * Notifiers (SPEC §16.1): budget notices by email through the operator's mail transport.
 */
export { BUDGET_EVENT_TYPES, budgetNotice, topUpCommand, type BudgetNotice } from './budget-message.ts';
export { emailRoute, type EmailDefaults, type EmailRoute } from './recipients.ts';
export { fileCursor, type NotifyCursor } from './cursor.ts';
export { startBudgetEmailNotifier, type BudgetEmailDeps, type BudgetEmailNotifier, type BudgetEmailOptions } from './notifier.ts';
export { budgetEmailCursorPath, emailDisabledReason, noticeSender, notifyDaemonService, type NotifyServiceOptions } from './daemon-service.ts';
