/**
 * The store: durable state behind one interface (`Store`), with an embedded SQLite
 * implementation (`openSqliteStore`) and a contract suite every implementation passes
 * (`runStoreContract` in `./contract.ts`, imported by tests only).
 */
export type * from './types.ts';
export { SANDBOX_STATUSES, PAUSED_BY, RUN_STATUSES } from './types.ts';
export type { Store, SandboxStore, RunStore, LedgerStore, ScheduleStore, IdentityStore, EventStore, MailStore } from './store.ts';
export type { TelemetryStore, TelemetryRecord, TelemetrySignal, TelemetryQuery, TelemetryCount, NewTelemetry } from './telemetry.ts';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.ts';
export { SCHEMA_VERSION } from './sqlite/schema.ts';
