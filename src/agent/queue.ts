/**
 * Queued prompts (SPEC §10.6): `km create … --prompt A --prompt B` stores `queued` runs; kmd's
 * run watcher starts them in order once the sandbox is running, each after the previous one
 * finished (`startNextQueued`); a run that does not succeed marks the rest `cancelled` with
 * `previous run failed`.
 */
import type { Clock } from '../core/clock.ts';
import { isKmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import type { RunRecord, RunStore, SandboxRecord } from '../store/index.ts';
import type { AgentKind } from './commands.ts';
import { startRun, type RunDeps } from './runs.ts';

/** `--run-timeout` default (SPEC §10.1). */
export const DEFAULT_RUN_TIMEOUT_S = 8 * 3600;

export interface QueuedPrompt {
  prompt: string;
  /** Default: the profile's `cli.agent`. */
  agent?: AgentKind;
}

/** Stores the prompts as `queued` runs, in order (distinct, increasing run ids). */
export async function queuePrompts(store: RunStore, sandbox: SandboxRecord, prompts: readonly QueuedPrompt[], clock: Clock): Promise<RunRecord[]> {
  const profile = sandbox.profile as Profile;
  const out: RunRecord[] = [];
  for (const p of prompts) {
    out.push(await store.createRun(sandbox.id, { agent: p.agent ?? profile.spec.cli.agent, prompt: p.prompt, status: 'queued', atMs: clock.now() }));
  }
  return out;
}

/**
 * When the sandbox is running and no run is: cancels every queued run if the run before the
 * first queued one did not succeed, else starts the first queued one. Returns what changed.
 */
export async function startNextQueued(deps: RunDeps, sandbox: SandboxRecord, runTimeoutS = DEFAULT_RUN_TIMEOUT_S): Promise<RunRecord[]> {
  if (sandbox.status !== 'running') return [];
  const runs = await deps.store.listRuns(sandbox.id);
  if (runs.some((r) => r.status === 'running')) return [];
  const first = runs.findIndex((r) => r.status === 'queued');
  if (first < 0) return [];
  const before = first > 0 ? runs[first - 1] : undefined;
  if (before && before.status !== 'succeeded') {
    const queued = runs.filter((r) => r.status === 'queued');
    return Promise.all(queued.map((r) => deps.store.updateRun(sandbox.id, r.runId, { status: 'cancelled', statusReason: 'previous run failed', endedAtMs: deps.clock.now() }, ['queued'])));
  }
  const q = runs[first] as RunRecord;
  const profile = sandbox.profile as Profile;
  try {
    const agent = q.agent as AgentKind;
    return [await startRun(deps, { sandbox, agent, prompt: q.prompt, userArgs: [], noBedrock: agent !== 'codex' && profile.spec.cli.noBedrock, runTimeoutS, queuedRunId: q.runId })];
  } catch (e) {
    if (isKmError(e) && e.code === 'invalid_state') return [];
    return [(await deps.store.getRun(sandbox.id, q.runId)) ?? q];
  }
}
