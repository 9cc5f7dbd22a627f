/** Agent run rows (SPEC §10.2): unique, sortable run ids per sandbox; conditional updates. */
import { KmError } from '../../core/errors.ts';
import { runIdAt } from '../../core/ids.ts';
import type { RunStore } from '../store.ts';
import type { RunRecord, RunStatus } from '../types.ts';
import type { Db, Row } from './db.ts';
import { json, num, optNum, optStr, placeholders, setClause, str } from './rows.ts';

function decodeRun(r: Row): RunRecord {
  return {
    sandboxId: str(r, 'sandbox_id'),
    runId: str(r, 'run_id'),
    agent: str(r, 'agent'),
    status: str(r, 'status') as RunStatus,
    statusReason: optStr(r, 'status_reason'),
    prompt: str(r, 'prompt'),
    createdAtMs: num(r, 'created_at_ms'),
    startedAtMs: optNum(r, 'started_at_ms'),
    endedAtMs: optNum(r, 'ended_at_ms'),
    exitCode: optNum(r, 'exit_code'),
    result: json(r, 'result_json'),
  };
}

export function createRunStore(db: Db): RunStore {
  const getSync = (sandboxId: string, runId: string): RunRecord | undefined => {
    const r = db.get('SELECT * FROM runs WHERE sandbox_id = ? AND run_id = ?', sandboxId, runId);
    return r ? decodeRun(r) : undefined;
  };
  return {
    createRun: async (sandboxId, run) =>
      db.tx(() => {
        if (!db.get('SELECT 1 FROM sandboxes WHERE id = ?', sandboxId)) throw new KmError('not_found', `no sandbox with id ${sandboxId}`);
        let at = Math.floor(run.atMs / 1000) * 1000;
        while (db.get('SELECT 1 FROM runs WHERE sandbox_id = ? AND run_id = ?', sandboxId, runIdAt(at))) at += 1000;
        const runId = runIdAt(at);
        const status = run.status ?? 'queued';
        db.run(
          `INSERT INTO runs (sandbox_id, run_id, agent, status, prompt, created_at_ms, started_at_ms) VALUES (${placeholders(7)})`,
          sandboxId,
          runId,
          run.agent,
          status,
          run.prompt,
          run.atMs,
          status === 'running' ? run.atMs : null,
        );
        return getSync(sandboxId, runId) as RunRecord;
      }),
    updateRun: async (sandboxId, runId, update, fromStatuses) =>
      db.tx(() => {
        const cur = getSync(sandboxId, runId);
        if (!cur) throw new KmError('not_found', `no run ${runId} on ${sandboxId}`, { hint: `see km agent list ${sandboxId}` });
        if (fromStatuses && !fromStatuses.includes(cur.status)) {
          throw new KmError('invalid_state', `run ${runId} is ${cur.status}; this needs it to be ${fromStatuses.join(' or ')}`, {
            details: { run_id: runId, current_status: cur.status },
          });
        }
        const set = setClause(
          update,
          { status: 'status', statusReason: 'status_reason', startedAtMs: 'started_at_ms', endedAtMs: 'ended_at_ms', exitCode: 'exit_code', result: 'result_json' },
          (key, value) => (key === 'result' ? JSON.stringify(value) : (value as string | number | null)),
        );
        if (set.sql !== '') {
          db.run(`UPDATE runs SET ${set.sql} WHERE sandbox_id = ? AND run_id = ? AND status = ?`, ...set.values, sandboxId, runId, cur.status);
        }
        return getSync(sandboxId, runId) as RunRecord;
      }),
    getRun: async (sandboxId, runId) => getSync(sandboxId, runId),
    listRuns: async (sandboxId, options = {}) => {
      const statuses = options.statuses ?? [];
      const filter = statuses.length > 0 ? ` AND status IN (${placeholders(statuses.length)})` : '';
      return db.all(`SELECT * FROM runs WHERE sandbox_id = ?${filter} ORDER BY run_id`, sandboxId, ...statuses).map(decodeRun);
    },
  };
}
