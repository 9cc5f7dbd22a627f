/** Documents and exit codes for runs as the CLI reports them (SPEC §10.4, §10.5). */
import { toIso } from '../core/clock.ts';
import type { RunRecord, RunStatus, SandboxRecord } from '../store/index.ts';

/** The stored result when there is one, else the run's current state (`status: running`, …). */
export function runningDocument(sandbox: SandboxRecord, run: RunRecord, nowMs: number): Record<string, unknown> {
  if (run.result !== null && run.result !== undefined && typeof run.result === 'object') return run.result as Record<string, unknown>;
  const started = run.startedAtMs;
  return {
    type: 'result',
    result: null,
    km: {
      run_id: run.runId,
      sandbox_id: sandbox.id,
      alias: sandbox.alias,
      agent: run.agent,
      status: run.status,
      status_reason: run.statusReason,
      exit_code: run.exitCode,
      created_at: toIso(run.createdAtMs),
      started_at: started === null ? null : toIso(started),
      ended_at: run.endedAtMs === null ? null : toIso(run.endedAtMs),
      duration_ms: started === null ? null : Math.max(0, (run.endedAtMs ?? nowMs) - started),
    },
  };
}

const CODES: Record<RunStatus, number> = { succeeded: 0, failed: 1, budget_exhausted: 3, timed_out: 4, cancelled: 5, queued: 1, running: 1 };

/** Exit code of `km agent run --wait` for a finished run. */
export const exitCodeOf = (status: RunStatus): number => CODES[status];
