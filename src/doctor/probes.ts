/** The real probes of kmd and the store behind DoctorContext (read-only: nothing is started). */
import { existsSync } from 'node:fs';
import { stateFiles } from '../config/paths.ts';
import { systemClock } from '../core/clock.ts';
import { createDaemonClient, existingLockName, isHeld, probe, socketPathProblem } from '../daemon/index.ts';
import { openSqliteStore } from '../store/index.ts';
import type { DaemonProbe, StoreProbe } from './types.ts';

export async function probeDaemon(stateDir: string): Promise<DaemonProbe> {
  const files = stateFiles(stateDir);
  // An unusable socket path is reported by the state-dir check; kmd cannot run there.
  if (socketPathProblem(files.socket)) return { running: false, pid: null, version: null, staleSocket: false, stalePidFile: false, hung: false };
  const h = await probe(createDaemonClient(files.socket));
  if (h) return { running: true, pid: h.pid, version: h.version, staleSocket: false, stalePidFile: false, hung: false };
  const name = existingLockName(stateDir, 'kmd');
  const held = name !== undefined && (await isHeld(name));
  return {
    running: false,
    pid: null,
    version: null,
    hung: held,
    staleSocket: !held && existsSync(files.socket),
    stalePidFile: !held && existsSync(files.pidFile),
  };
}

/** Opens the SQLite store at `location` only when it exists, checks integrity, lists live sandboxes. */
export async function probeSqliteStore(location: string): Promise<StoreProbe> {
  const base = { location, schemaVersion: null, sandboxes: [] };
  if (!existsSync(location)) return { ...base, exists: false, ok: true, message: 'not created yet' };
  let store;
  try {
    store = await openSqliteStore(location, { clock: systemClock, busyTimeoutMs: 2000 });
  } catch (e) {
    return { ...base, exists: true, ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  try {
    const report = await store.checkIntegrity();
    const rows = report.ok ? await store.listSandboxes() : [];
    return {
      exists: true,
      location,
      ok: report.ok,
      message: report.message,
      schemaVersion: report.schemaVersion,
      sandboxes: rows.map((r) => ({
        id: r.id, status: r.status, expiresAtMs: r.expiresAtMs, updatedAtMs: r.updatedAtMs,
        substrate: r.substrate, teardownPolicy: r.teardownPolicy, locked: r.locked,
      })),
    };
  } catch (e) {
    return { ...base, exists: true, ok: false, message: e instanceof Error ? e.message : String(e) };
  } finally {
    await store.close();
  }
}
