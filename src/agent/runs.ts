/**
 * Agent runs (SPEC §10.2–10.5): start a run in a detached tmux session inside a running
 * sandbox, bring its stored state up to date from the run directory the launcher writes
 * (`refreshRun`, idempotent and safe to call from any process — the store's conditional
 * update decides who finalises), wait for it, cancel it. The store is authoritative; the
 * launcher and tmux live inside the sandbox, so a run survives the CLI exiting and kmd
 * restarting, and its result is composed whenever anyone next looks.
 */
import type { Clock } from '../core/clock.ts';
import { KmError, isKmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import type { RunRecord, RunStatus, RunUpdate, SandboxRecord, Store } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import { bedrockEnvironment, buildAgentCommand, type AgentKind } from './commands.ts';
import { isBudgetDenial, meteredUsage, resultDocument, runEvents, usageMismatch } from './compose.ts';
import { KILL_GRACE_S, runDirOf, runFiles } from './launcher.ts';
import { parseAgentResult } from './results.ts';
import * as io from './sandbox-io.ts';

export interface RunDeps {
  store: Store;
  /** A substrate that can exec into the sandbox (adopted). */
  substrate: Substrate;
  clock: Clock;
  /**
   * Records an audit event (SPEC §13.1: `run.started`, `run.finished`, `command` with source
   * `agent`, `agent.usage_mismatch`); the recorder redacts. `source` defaults to the caller's.
   */
  recordEvent?: (sandboxId: string, type: string, detail: Record<string, unknown>, source?: string) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export interface StartRunInput {
  sandbox: SandboxRecord;
  agent: AgentKind;
  prompt: string;
  userArgs: readonly string[];
  noBedrock: boolean;
  runTimeoutS: number;
  /** An existing queued run to start instead of allocating a new one. */
  queuedRunId?: string;
}

export const TERMINAL: readonly RunStatus[] = ['succeeded', 'failed', 'budget_exhausted', 'timed_out', 'cancelled'];
const LAUNCHER_STATUSES = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);
const OUTPUT_MAX = 8 * 1024 * 1024;
const PROXY = '127.0.0.1:3128';

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The run's own variables: proxy credentials naming the run (§6.3) and Bedrock (§10.3). */
export function runEnvironment(profile: Profile, runId: string, agent: AgentKind, noBedrock: boolean): { env: Record<string, string>; unset: string[] } {
  const { execution, runtime } = profile.spec;
  const base: Record<string, string> = {
    ...(execution.useBedrock ? { CLAUDE_CODE_USE_BEDROCK: '1', AWS_REGION: runtime.region } : {}),
    ...execution.env,
  };
  const want = bedrockEnvironment(base, { useBedrock: execution.useBedrock, noBedrock, region: runtime.region, agent });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (base[k] !== v) env[k] = v;
  const unset = Object.keys(base).filter((k) => want[k] === undefined);
  if (noBedrock && want.CLAUDE_CODE_USE_BEDROCK === undefined) unset.push('CLAUDE_CODE_USE_BEDROCK');
  const proxy = `http://${runId}:x@${PROXY}`;
  Object.assign(env, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, KM_AGENT_RUN_ID: runId });
  return { env, unset: [...new Set(unset)] };
}

function profileArgs(profile: Profile, agent: AgentKind): string[] {
  const cli = profile.spec.cli;
  return [...(agent === 'claude' ? cli.claudeArgs : agent === 'codex' ? cli.codexArgs : cli.gooseArgs)];
}

export async function startRun(deps: RunDeps, input: StartRunInput): Promise<RunRecord> {
  const { sandbox } = input;
  const profile = sandbox.profile as Profile;
  const now = deps.clock.now();
  const run = input.queuedRunId
    ? await deps.store.updateRun(sandbox.id, input.queuedRunId, { status: 'running', startedAtMs: now }, ['queued'])
    : await deps.store.createRun(sandbox.id, { agent: input.agent, prompt: input.prompt, status: 'running', atMs: now });
  try {
    const cmd = buildAgentCommand({
      agent: input.agent, prompt: input.prompt, promptPath: `${runDirOf(run.runId)}/prompt.txt`,
      profileArgs: profileArgs(profile, input.agent), userArgs: input.userArgs,
    });
    const { env, unset } = runEnvironment(profile, run.runId, input.agent, input.noBedrock);
    const files = runFiles({ argv: cmd.argv, prompt: input.prompt, stdinFromPrompt: cmd.stdinPath !== null, env, unset, timeoutS: input.runTimeoutS });
    await io.writeRunDir(deps.substrate, sandbox.id, run.runId, files);
    await io.startSession(deps.substrate, sandbox.id, run.runId, profile.spec.execution.workingDir);
    const stored = await deps.store.updateRun(sandbox.id, run.runId, { startedAtMs: run.startedAtMs ?? now });
    await deps.recordEvent?.(sandbox.id, 'run.started', { run_id: run.runId, agent: input.agent, run_timeout_s: input.runTimeoutS });
    await deps.recordEvent?.(sandbox.id, 'command', { argv: cmd.argv, run_id: run.runId, stdin: cmd.stdinPath }, 'agent');
    return stored;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    await deps.store.updateRun(sandbox.id, run.runId, { status: 'failed', statusReason: `could not start: ${reason}`, endedAtMs: deps.clock.now() }).catch(() => undefined);
    throw isKmError(e) ? e : new KmError('failed', `could not start the agent run on ${sandbox.alias ?? sandbox.id}: ${reason}`);
  }
}

/** The final status from the launcher's status and the gateway's budget denials (§10.2). */
export function finalStatus(launcher: string, exitCode: number, budgetDenied: boolean): RunStatus {
  if (launcher === 'succeeded' && exitCode === 0) return 'succeeded';
  if (launcher === 'timed_out' || launcher === 'cancelled') return launcher;
  return budgetDenied ? 'budget_exhausted' : 'failed';
}

async function aiBudgetExhausted(store: RunDeps['store'], sandboxId: string): Promise<boolean> {
  const b = await store.getBudget(sandboxId);
  if (!b || b.aiLimitUsd === null || b.aiLimitUsd === undefined) return false;
  return (await store.aiSpentUsd(sandboxId)) >= b.aiLimitUsd;
}

/** Composes and stores the result of a run whose launcher has finished. */
async function finalise(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord, state: io.RunState): Promise<RunRecord> {
  const exitCode = state.exitCode ?? 1;
  const endedAtMs = state.endedAtMs ?? deps.clock.now();
  const startedAtMs = state.startedAtMs ?? run.startedAtMs ?? run.createdAtMs;
  const timed = { ...run, startedAtMs, endedAtMs, exitCode };
  const raw = await io.readRunFile(deps.substrate, sandbox.id, run.runId, 'output.json', OUTPUT_MAX);
  const parsed = parseAgentResult(run.agent as AgentKind, raw);
  if (!parsed.parsed) {
    const err = await io.readRunFile(deps.substrate, sandbox.id, run.runId, 'stderr.log', 4000, true);
    if (err !== '') parsed.doc.stderr_tail = err;
  }
  let events = await runEvents(deps.store, sandbox.id, timed, endedAtMs);
  // The gateway's denial event may still be in its 250 ms batch when a refused agent exits; an
  // exhausted AI budget at the end of a failed run says the same thing (and the events follow).
  const exhausted = exitCode !== 0 && !events.some(isBudgetDenial) && (await aiBudgetExhausted(deps.store, sandbox.id));
  if (exhausted) {
    await (deps.sleep ?? defaultSleep)(1000);
    events = await runEvents(deps.store, sandbox.id, timed, deps.clock.now());
  }
  const budgetDenied = exhausted || events.some(isBudgetDenial);
  const status = finalStatus(state.status ?? 'failed', exitCode, budgetDenied);
  const metered = await meteredUsage(deps.store, sandbox.id, timed, endedAtMs);
  const budgetRow = await deps.store.getBudget(sandbox.id);
  const statusReason = status === 'timed_out' ? 'run timeout' : status === 'budget_exhausted' ? 'ai_budget_exhausted' : status === 'cancelled' ? (run.statusReason ?? 'cancelled by the operator') : null;
  const final = { ...timed, status, statusReason };
  const doc = resultDocument({
    sandbox, run: final, parsed, events, metered,
    budget: {
      aiSpentUsd: await deps.store.aiSpentUsd(sandbox.id), aiLimitUsd: budgetRow?.aiLimitUsd ?? null,
      computeSpentUsd: budgetRow?.computeSpentUsd ?? 0, computeLimitUsd: budgetRow?.computeLimitUsd ?? null,
    },
  });
  const stored = await tryUpdate(deps, sandbox, run, { status, statusReason, startedAtMs, endedAtMs, exitCode, result: doc });
  if (!stored) return (await deps.store.getRun(sandbox.id, run.runId)) ?? run;
  await deps.recordEvent?.(sandbox.id, 'run.finished', {
    run_id: run.runId, agent: run.agent, status, exit_code: exitCode, duration_ms: Math.max(0, endedAtMs - startedAtMs),
    cost_usd: metered.cost_usd, attribution: metered.attribution,
  });
  if (usageMismatch(parsed.selfReported, metered)) {
    await deps.recordEvent?.(sandbox.id, 'agent.usage_mismatch', { run_id: run.runId, agent: run.agent, self_reported: parsed.selfReported, metered: { ...metered, by_model: undefined } });
  }
  await io.writeRunFile(deps.substrate, sandbox.id, run.runId, 'result.json', JSON.stringify(doc) + '\n').catch(() => undefined);
  return stored;
}

/** Sandbox statuses in which no process of a run can still be alive. */
const ENDED_SANDBOX = new Set(['stopped', 'destroying', 'destroyed', 'failed', 'lost']);

/** The sandbox's processes ended under the run: cancelled, `status_reason` ttl|idle or what ended it (§10.2). */
async function endWithSandbox(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord): Promise<RunRecord> {
  const r = sandbox.statusReason ?? '';
  const reason = /^ttl/.test(r) ? 'ttl' : /^idle/.test(r) ? 'idle' : `sandbox ${sandbox.status}${r ? ` (${r})` : ''}`;
  return conditional(deps, sandbox, run, { status: 'cancelled', statusReason: reason, endedAtMs: deps.clock.now() });
}

/** A run whose outcome is not final: running, or budget_exhausted by a budget pause (not ended yet). */
export const isOpen = (run: RunRecord): boolean => run.status === 'running' || (run.status === 'budget_exhausted' && run.endedAtMs === null);
const OPEN: readonly RunStatus[] = ['running', 'budget_exhausted'];

/** Updates a run that is still as we read it; undefined when someone else changed it first. */
async function tryUpdate(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord, update: RunUpdate): Promise<RunRecord | undefined> {
  try {
    return await deps.store.updateRun(sandbox.id, run.runId, update, run.status === 'running' ? ['running'] : OPEN);
  } catch (e) {
    if (isKmError(e) && e.code === 'invalid_state') return undefined;
    throw e;
  }
}

/** Updates an open run; when someone else got there first, returns what they stored. */
async function conditional(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord, update: RunUpdate): Promise<RunRecord> {
  return (await tryUpdate(deps, sandbox, run, update)) ?? (await deps.store.getRun(sandbox.id, run.runId)) ?? run;
}

/**
 * Brings a running run's stored state up to date: finalised when the launcher has written
 * its status; failed when its directory and session are gone. Other statuses are returned as they are.
 */
export async function refreshRun(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord): Promise<RunRecord> {
  if (!isOpen(run)) return run;
  if (ENDED_SANDBOX.has(sandbox.status)) return endWithSandbox(deps, sandbox, run);
  if (sandbox.status === 'paused' && sandbox.pausedBy === 'budget' && run.status === 'running') {
    // The frozen agent continues if the budget is topped up; its final status is recorded then.
    return conditional(deps, sandbox, run, { status: 'budget_exhausted', statusReason: 'the sandbox was paused by its compute budget' });
  }
  if (sandbox.status !== 'running') return run;
  const state = await io.readRunState(deps.substrate, sandbox.id, run.runId);
  if (state.present && state.status !== undefined && LAUNCHER_STATUSES.has(state.status) && state.exitCode !== undefined) {
    return finalise(deps, sandbox, run, state);
  }
  if (!state.present || state.status === undefined) {
    // Not yet started by tmux, or lost: only declare it lost when tmux has no session for it.
    const started = run.startedAtMs ?? run.createdAtMs;
    if (deps.clock.now() - started > 30_000 && !(await io.hasSession(deps.substrate, sandbox.id, run.runId))) {
      return conditional(deps, sandbox, run, { status: 'failed', statusReason: 'the run ended without recording a result', endedAtMs: deps.clock.now() });
    }
  }
  return run;
}

export interface WaitOptions {
  pollMs?: number;
  onTick?: (run: RunRecord) => void;
  /** Re-read the sandbox (status changes such as a pause) each tick. */
  reloadSandbox?: () => Promise<SandboxRecord>;
}

/** Polls until the run is finished. Never touches the sandbox's lifecycle timers. */
export async function waitRun(deps: RunDeps, sandbox: SandboxRecord, runId: string, o: WaitOptions = {}): Promise<RunRecord> {
  const sleep = deps.sleep ?? defaultSleep;
  let sb = sandbox;
  for (;;) {
    const run = await deps.store.getRun(sb.id, runId);
    if (!run) throw new KmError('not_found', `no run ${runId} on ${sb.alias ?? sb.id}`);
    const now = await refreshRun(deps, sb, run);
    if (TERMINAL.includes(now.status)) return now;
    o.onTick?.(now);
    await sleep(o.pollMs ?? 1000);
    if (o.reloadSandbox) sb = await o.reloadSandbox();
  }
}

/** SIGINT, then SIGTERM, then SIGKILL (a few seconds apart); the launcher records `cancelled`. */
export async function cancelRun(deps: RunDeps, sandbox: SandboxRecord, run: RunRecord): Promise<RunRecord> {
  const sleep = deps.sleep ?? defaultSleep;
  if (run.status === 'queued') {
    return deps.store.updateRun(sandbox.id, run.runId, { status: 'cancelled', statusReason: 'cancelled before it started', endedAtMs: deps.clock.now() }, ['queued']);
  }
  if (run.status !== 'running') throw new KmError('invalid_state', `run ${run.runId} on ${sandbox.alias ?? sandbox.id} is already ${run.status}`);
  if (sandbox.status !== 'running') throw new KmError('invalid_state', `${sandbox.alias ?? sandbox.id} is ${sandbox.status}; resume it to cancel the run`, { hint: `km resume ${sandbox.alias ?? sandbox.id}` });
  const state = await io.readRunState(deps.substrate, sandbox.id, run.runId);
  if (state.agentPid === undefined) throw new KmError('invalid_state', `run ${run.runId} has not started its agent yet; try again in a moment`);
  await io.writeRunFile(deps.substrate, sandbox.id, run.runId, 'stop_reason', 'cancelled\n');
  const steps: Array<['INT' | 'TERM' | 'KILL', number]> = [['INT', 5], ['TERM', KILL_GRACE_S], ['KILL', 5]];
  for (const [sig, waitS] of steps) {
    if (!(await io.agentAlive(deps.substrate, sandbox.id, state.agentPid))) break;
    await io.signalAgent(deps.substrate, sandbox.id, state.agentPid, sig);
    for (let i = 0; i < waitS * 4; i++) {
      await sleep(250);
      if (!(await io.agentAlive(deps.substrate, sandbox.id, state.agentPid))) break;
    }
  }
  await deps.store.updateRun(sandbox.id, run.runId, { statusReason: 'cancelled by the operator' }, ['running']).catch(() => undefined);
  return waitRun(deps, sandbox, run.runId, { pollMs: 250 });
}
