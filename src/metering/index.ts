/**
 * Metering (SPEC §6.1, §6.3, §6.5): the gateway's exchange hook that meters AI responses into
 * the durable ledger and enforces the AI budget before requests reach a provider.
 */
export { createMeter, inspectRequest, AI_BUDGET_RULE, type Meter, type MeterDeps } from './meter.ts';
export { MAX_REWRITE_BODY_BYTES, type ExchangeHook, type ExchangeHookFn, type ExchangeHookInfo } from './hook.ts';
export { toEventInput, type MeterEvent, type MeterStore } from './ledger.ts';
export { createSandboxMeter, type SandboxMeterConfig, type SandboxMeterDeps } from './sandbox-meter.ts';
