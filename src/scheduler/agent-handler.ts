/**
 * A scheduled `agent run` (SPEC §10.1) as `km agent run` does it in detached mode: the
 * sandbox must be running (with `--auto-start` a paused or stopped one is resumed through
 * kmd, never a budget pause), the agent defaults to the profile's `cli.agent`, and the run
 * is started through the run service; the fire's detail names the run id.
 */
import { startRun, type RunDeps } from '../agent/index.ts';
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import { labelOf, resolveSandboxRef, sandboxPaths } from '../sandbox/index.ts';
import type { SandboxRecord, Store } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import type { ScheduledCommand } from './command.ts';
import type { DispatchContext, DispatchHandlers } from './dispatch.ts';

/** SPEC §10.1: `--run-timeout` defaults to 8h. */
export const DEFAULT_RUN_TIMEOUT_S = 8 * 3600;

export interface AgentRunDeps {
  store: Store;
  clock: Clock;
  kmHome: string;
  /** A local substrate that can exec into sandboxes (adopted per run). */
  substrate(): Substrate;
  recordEvent?: RunDeps['recordEvent'];
  /** Resumes through kmd's route (actor `schedule`). */
  resume(sandboxId: string, ctx: DispatchContext): Promise<void>;
}

type AgentRun = Extract<ScheduledCommand, { name: 'agent-run' }>;

async function runnable(d: AgentRunDeps, s: SandboxRecord, c: AgentRun, ctx: DispatchContext): Promise<SandboxRecord> {
  if (s.status === 'running') return s;
  const name = labelOf(s);
  if (s.status !== 'paused' && s.status !== 'stopped') throw new KmError('invalid_state', `${name} is ${s.status}; agent runs need a running sandbox`, { details: { sandbox_id: s.id } });
  if (s.pausedBy === 'budget') throw new KmError('budget_exhausted', `${name} is paused by its compute budget; km budget add ${name} --compute <usd>`, { details: { sandbox_id: s.id } });
  if (!c.autoStart) throw new KmError('invalid_state', `${name} is ${s.status}; add --auto-start or run km resume ${name}`, { details: { sandbox_id: s.id } });
  await d.resume(s.id, ctx);
  const after = await d.store.getSandbox(s.id);
  if (after?.status !== 'running') throw new KmError('failed', `${name} did not start (it is ${after?.status ?? 'gone'})`, { details: { sandbox_id: s.id } });
  return after;
}

export function agentRunHandler(d: AgentRunDeps): DispatchHandlers['agentRun'] {
  return async (c, ctx) => {
    const sb = await runnable(d, await resolveSandboxRef(d.store, c.sandbox), c, ctx);
    const profile = sb.profile as Profile;
    const agent = c.agent ?? profile.spec.cli.agent;
    if (agent === 'codex' && c.noBedrock) return { ok: false, detail: '--no-bedrock does not apply to codex', sandboxId: sb.id };
    if (sb.substrate !== 'local') return { ok: false, detail: `agent runs on the ${sb.substrate} substrate are not available in this version`, sandboxId: sb.id };
    const substrate = d.substrate();
    await substrate.adopt(sb.id, sandboxPaths(d.kmHome, sb.id).stateDir);
    const noBedrock = c.noBedrock || (agent !== 'codex' && profile.spec.cli.noBedrock);
    const runTimeoutS = c.runTimeoutS ?? DEFAULT_RUN_TIMEOUT_S;
    const deps: RunDeps = { store: d.store, substrate, clock: d.clock, ...(d.recordEvent ? { recordEvent: d.recordEvent } : {}) };
    const run = await startRun(deps, { sandbox: sb, agent, prompt: c.prompt, userArgs: c.args, noBedrock, runTimeoutS });
    return { ok: true, detail: `started run ${run.runId} (${agent}); km agent results ${labelOf(sb)} --run ${run.runId}`, sandboxId: sb.id };
  };
}
