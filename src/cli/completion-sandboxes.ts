/**
 * Sandbox references for shell completion: aliases and IDs of non-destroyed sandboxes, read
 * from the SQLite store read-only. Best effort: any problem yields no candidates.
 */
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { resolveStateDir, stateFiles } from '../config/paths.ts';

export function sandboxCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const path = stateFiles(resolveStateDir(env)).database;
  if (!existsSync(path)) return [];
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    const rows = db.prepare("SELECT id, alias FROM sandboxes WHERE status <> 'destroyed' ORDER BY number").all() as Array<{ id: string; alias: string | null }>;
    return rows.flatMap((r) => (r.alias ? [r.alias, r.id] : [r.id]));
  } catch {
    return [];
  } finally {
    db?.close();
  }
}
