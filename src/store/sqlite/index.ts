/** The embedded SQLite store: one database file in the state directory (`km.db`). */
import type { Clock } from '../../core/clock.ts';
import type { Store } from '../store.ts';
import type { IntegrityReport } from '../types.ts';
import { openDb, type Db } from './db.ts';
import { createEventStore } from './events.ts';
import { createIdentityStore } from './identities.ts';
import { createLedgerStore } from './ledger.ts';
import { createMailStore } from './mail.ts';
import { createRunStore } from './runs.ts';
import { createSandboxStore } from './sandboxes.ts';
import { createScheduleStore } from './schedules.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { createTelemetryStore } from './telemetry.ts';

export interface SqliteStoreOptions {
  /** Reserved for store-side timestamps; records carry the caller's times today. */
  clock: Clock;
  busyTimeoutMs?: number;
}

export async function openSqliteStore(path: string, options: SqliteStoreOptions): Promise<Store> {
  const db = openDb(path, { busyTimeoutMs: options.busyTimeoutMs });
  let closed = false;
  return {
    ...createSandboxStore(db),
    ...createRunStore(db),
    ...createLedgerStore(db),
    ...createScheduleStore(db),
    ...createIdentityStore(db),
    ...createEventStore(db),
    ...createMailStore(db),
    ...createTelemetryStore(db),
    describe: () => ({ kind: 'sqlite', location: path }),
    checkIntegrity: async () => checkIntegrity(db),
    purgeSandbox: async (id) => {
      db.tx(() => {
        for (const table of ['ledger', 'ai_spend', 'runs', 'events', 'budgets', 'telemetry']) db.run(`DELETE FROM ${table} WHERE sandbox_id = ?`, id);
        db.run('DELETE FROM mail WHERE mailbox = ?', id);
        db.run('DELETE FROM sandboxes WHERE id = ?', id);
      });
    },
    close: async () => {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function checkIntegrity(db: Db): IntegrityReport {
  const schemaVersion = db.userVersion();
  let rows: Array<Record<string, unknown>>;
  try {
    rows = db.all('PRAGMA quick_check');
  } catch (e) {
    return { ok: false, schemaVersion, message: `integrity check failed: ${(e as Error).message}` };
  }
  const problems = rows.map((r) => String(Object.values(r)[0])).filter((m) => m !== 'ok');
  if (problems.length > 0) return { ok: false, schemaVersion, message: `database is damaged: ${problems.slice(0, 3).join('; ')}` };
  if (schemaVersion !== SCHEMA_VERSION) {
    return { ok: false, schemaVersion, message: `schema version ${schemaVersion}, expected ${SCHEMA_VERSION}` };
  }
  return { ok: true, schemaVersion, message: `ok (schema version ${schemaVersion})` };
}
