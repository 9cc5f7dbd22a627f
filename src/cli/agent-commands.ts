/** `km agent run | attach | results | list | cancel` (SPEC §10). */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import {
  MAX_PROMPT_BYTES, TERMINAL, cancelRun, isOpen, exitCodeOf, hasSession, refreshRun, runningDocument, sessionOf, startRun, tmuxArgv, waitRun,
  type AgentKind,
} from '../agent/index.ts';
import { parseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import type { Profile } from '../profile/index.ts';
import type { RunRecord } from '../store/index.ts';
import { agentCli, pickRun, requireRunning, type AgentCli } from './agent-context.ts';
import { renderRuns } from './agent-render.ts';
import { writeJson } from './output.ts';
import { kmd } from './sandbox-client.ts';
import { type CommandContext, type CommandModule, optStr } from './spec.ts';

const DEFAULT_RUN_TIMEOUT_S = 8 * 3600;
const AUTO_START_TIMEOUT_MS = 120_000;

interface RunArgs {
  prompt: string;
  agent: AgentKind | undefined;
  noBedrock: boolean;
  runTimeoutS: number;
  mode: 'detach' | 'wait' | 'interactive';
}

async function readStdin(ctx: CommandContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Everything a usage error can come from, checked before anything runs (exit 2). */
async function runArgs(ctx: CommandContext): Promise<RunArgs> {
  const text = optStr(ctx, 'prompt');
  const file = optStr(ctx, 'prompt-file');
  if ((text === undefined) === (file === undefined)) throw new KmError('usage', 'give exactly one of --prompt TEXT or --prompt-file F (- for stdin)');
  if (ctx.opts.wait === true && ctx.opts.interactive === true) throw new KmError('usage', '--wait and --interactive cannot be combined');
  const agents = (['claude', 'codex', 'goose'] as const).filter((a) => ctx.opts[a] === true);
  if (agents.length > 1) throw new KmError('usage', `choose one agent: --${agents.join(' and --')} were both given`);
  if (agents[0] === 'codex' && ctx.opts['no-bedrock'] === true) throw new KmError('usage', '--no-bedrock does not apply to codex');
  const timeout = optStr(ctx, 'run-timeout');
  const runTimeoutS = timeout === undefined ? DEFAULT_RUN_TIMEOUT_S : parseDuration(timeout, { spelled: true });
  let prompt: string;
  if (file === '-') prompt = await readStdin(ctx);
  else if (file !== undefined) {
    try {
      prompt = readFileSync(resolvePath(ctx.cwd, file), 'utf8');
    } catch (e) {
      throw new KmError('usage', `cannot read --prompt-file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  } else prompt = text as string;
  if (prompt.trim() === '') throw new KmError('usage', 'the prompt is empty');
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) throw new KmError('usage', `the prompt is ${bytes} bytes; the limit is 1 MiB (${MAX_PROMPT_BYTES} bytes)`);
  return {
    prompt, agent: agents[0], noBedrock: ctx.opts['no-bedrock'] === true, runTimeoutS,
    mode: ctx.opts.wait === true ? 'wait' : ctx.opts.interactive === true ? 'interactive' : 'detach',
  };
}

/** A sandbox that is not running: refused, or resumed through kmd with --auto-start (§10.1). */
async function ensureRunning(ctx: CommandContext, a: AgentCli): Promise<void> {
  const s = a.sandbox;
  if (s.status === 'running') return;
  if (s.status !== 'paused' && s.status !== 'stopped') throw new KmError('invalid_state', `${a.name} is ${s.status}; agent runs need a running sandbox`, { hint: `km status ${a.name}` });
  if (s.pausedBy === 'budget') throw new KmError('budget_exhausted', `${a.name} is paused by its compute budget; km budget add ${a.name} --compute <usd>`, { hint: `km budget add ${a.name} --compute <usd>` });
  if (ctx.opts['auto-start'] !== true) throw new KmError('invalid_state', `${a.name} is ${s.status}; add --auto-start or run km resume ${a.name}`);
  ctx.io.stderr.write(`resuming ${a.name}\n`);
  const k = await kmd(ctx, a.c.stateDir);
  await k.client.request('POST', `/v1/sandboxes/${encodeURIComponent(s.id)}/resume`, { actor: 'operator', time_zone: a.c.timeZone }, { timeoutMs: AUTO_START_TIMEOUT_MS });
  if ((await a.reload()).status !== 'running') throw new KmError('failed', `${a.name} did not start (it is ${a.sandbox.status})`, { hint: `km status ${a.name}` });
}

/** Attaches the terminal to a session through a PTY inside the sandbox; returns tmux's exit code. */
async function attach(ctx: CommandContext, a: AgentCli, runId: string): Promise<number> {
  const deps = await a.deps();
  const cmd = [...tmuxArgv('attach-session', '-t', `=${sessionOf(runId)}`)].join(' ');
  const h = await deps.substrate.exec(a.sandbox.id, ['script', '-qefc', cmd, '/dev/null'], { stdio: ['inherit', 'inherit', 'inherit'] });
  const stdin = ctx.io.stdin as NodeJS.ReadStream;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode(true);
  try {
    return await h.exit;
  } finally {
    if (raw) stdin.setRawMode(false);
  }
}

async function runRun(ctx: CommandContext): Promise<number> {
  const args = await runArgs(ctx);
  const a = await agentCli(ctx);
  try {
    await ensureRunning(ctx, a);
    const profile = a.sandbox.profile as Profile;
    const agent = args.agent ?? profile.spec.cli.agent;
    if (agent === 'codex' && args.noBedrock) throw new KmError('usage', '--no-bedrock does not apply to codex');
    const noBedrock = args.noBedrock || (agent !== 'codex' && profile.spec.cli.noBedrock);
    const deps = await a.deps();
    const run = await startRun(deps, { sandbox: a.sandbox, agent, prompt: args.prompt, userArgs: ctx.rest, noBedrock, runTimeoutS: args.runTimeoutS });
    if (args.mode === 'detach') {
      if (ctx.global.json) writeJson(ctx.io, { run_id: run.runId, sandbox_id: a.sandbox.id, agent, status: 'running' });
      else ctx.io.stdout.write(`Started run ${run.runId} on ${a.name} (${agent}); km agent results ${a.name} --run ${run.runId}\n`);
      return 0;
    }
    if (args.mode === 'interactive') {
      await attach(ctx, a, run.runId);
      ctx.io.stderr.write(`Detached from run ${run.runId} on ${a.name}; km agent results ${a.name} --run ${run.runId}\n`);
      return 0;
    }
    ctx.io.stderr.write(`Started run ${run.runId} on ${a.name} (${agent}); waiting for it to finish\n`);
    const final = await waitRun(deps, a.sandbox, run.runId, { reloadSandbox: () => a.reload() });
    writeJson(ctx.io, runningDocument(a.sandbox, final, ctx.clock.now()));
    return exitCodeOf(final.status);
  } finally {
    await a.close();
  }
}

export const agentRunCommand: CommandModule = { run: runRun };

export const agentResultsCommand: CommandModule = {
  async run(ctx) {
    const a = await agentCli(ctx, { allowDestroyed: true });
    try {
      let run = await pickRun(a, optStr(ctx, 'run'));
      if (!run) throw new KmError('not_found', `no agent runs on ${a.name}`, { hint: `km agent run ${a.name} --prompt …` });
      if (isOpen(run)) run = await refreshRun(await a.deps(), a.sandbox, run);
      writeJson(ctx.io, runningDocument(a.sandbox, run, ctx.clock.now()));
    } finally {
      await a.close();
    }
  },
};

/** Finalises runs whose launcher has finished (when the sandbox can be reached). */
async function refreshAll(a: AgentCli, runs: RunRecord[]): Promise<RunRecord[]> {
  if (!runs.some(isOpen)) return runs;
  const deps = await a.deps();
  return Promise.all(runs.map((r) => (isOpen(r) ? refreshRun(deps, a.sandbox, r) : r)));
}

export const agentListCommand: CommandModule = {
  async run(ctx) {
    const a = await agentCli(ctx, { allowDestroyed: true });
    try {
      const runs = await refreshAll(a, await a.store.listRuns(a.sandbox.id));
      if (ctx.global.json) writeJson(ctx.io, runs.map((r) => runningDocument(a.sandbox, r, ctx.clock.now()).km));
      else ctx.io.stdout.write(runs.length === 0 ? `no agent runs on ${a.name}\n` : renderRuns(runs, ctx.clock.now(), a.c.timeZone));
    } finally {
      await a.close();
    }
  },
};

export const agentCancelCommand: CommandModule = {
  async run(ctx) {
    const a = await agentCli(ctx);
    try {
      const given = optStr(ctx, 'run');
      const run = await pickRun(a, given, (r) => r.status === 'running' || r.status === 'queued');
      if (!run || (given === undefined && TERMINAL.includes(run.status))) throw new KmError('not_found', `no running agent run on ${a.name}`);
      let final = run;
      if (run.status === 'running') {
        requireRunning(a);
        final = await refreshRun(await a.deps(), a.sandbox, run);
      }
      if (!TERMINAL.includes(final.status)) final = await cancelRun(await a.deps(), a.sandbox, final);
      if (ctx.global.json) writeJson(ctx.io, runningDocument(a.sandbox, final, ctx.clock.now()).km);
      else ctx.io.stdout.write(final.status === 'cancelled' ? `Cancelled run ${final.runId} on ${a.name}\n` : `Run ${final.runId} on ${a.name} had already ended: ${final.status}\n`);
    } finally {
      await a.close();
    }
  },
};

export const agentAttachCommand: CommandModule = {
  async run(ctx) {
    const a = await agentCli(ctx);
    try {
      requireRunning(a);
      const run = await pickRun(a, optStr(ctx, 'run'), (r) => r.status === 'running');
      const deps = await a.deps();
      if (!run || !(await hasSession(deps.substrate, a.sandbox.id, run.runId))) throw new KmError('not_found', `no agent session on ${a.name}`);
      return await attach(ctx, a, run.runId);
    } finally {
      await a.close();
    }
  },
};
