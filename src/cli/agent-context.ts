/**
 * What the agent commands share: the store, the sandbox (resolved, adopted for exec), the
 * run service's dependencies, and picking a run. Like `km exec`, the work runs in the CLI
 * process (same user as kmd) and talks to the sandbox through the substrate's exec; kmd is
 * only asked to resume a sandbox (`--auto-start`).
 */
import { createRedactor } from '../audit/index.ts';
import { sqliteStorePath } from '../config/index.ts';
import { KmError } from '../core/errors.ts';
import type { RunDeps } from '../agent/index.ts';
import { createEventRecorder, labelOf, resolveSandboxRef, sandboxPaths } from '../sandbox/index.ts';
import { openSqliteStore, type RunRecord, type SandboxRecord, type Store } from '../store/index.ts';
import { createLocalSubstrate, type Substrate } from '../substrate/index.ts';
import { sandboxContext, type SandboxCliContext } from './sandbox-context.ts';
import type { CommandContext } from './spec.ts';

export interface AgentCli {
  c: SandboxCliContext;
  store: Store;
  sandbox: SandboxRecord;
  name: string;
  deps(): Promise<RunDeps>;
  reload(): Promise<SandboxRecord>;
  close(): Promise<void>;
}

export async function agentCli(ctx: CommandContext, options: { allowDestroyed?: boolean } = {}): Promise<AgentCli> {
  const c = await sandboxContext(ctx);
  const store = await openSqliteStore(sqliteStorePath(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }), { clock: ctx.clock });
  let substrate: Substrate | undefined;
  try {
    const sandbox = await resolveSandboxRef(store, ctx.args[0] as string, options);
    const events = createEventRecorder({ store, redactor: createRedactor({ literals: c.config.audit.redact_literals }), clock: ctx.clock });
    const self: AgentCli = {
      c, store, sandbox, name: labelOf(sandbox),
      async deps() {
        if (self.sandbox.substrate !== 'local') throw new KmError('substrate_unavailable', `agent runs on the ${self.sandbox.substrate} substrate are not available in this version`);
        if (!substrate) {
          substrate = createLocalSubstrate({ kmHome: c.stateDir });
          // Only a live sandbox can be reached; the run service never execs into others.
          if (self.sandbox.status === 'running') await substrate.adopt(self.sandbox.id, sandboxPaths(c.stateDir, self.sandbox.id).stateDir);
        }
        return {
          store, substrate, clock: ctx.clock,
          recordEvent: (id, type, detail, source) => events.record(id, type, source ?? 'cli', detail),
        };
      },
      async reload() {
        self.sandbox = (await store.getSandbox(self.sandbox.id)) ?? self.sandbox;
        return self.sandbox;
      },
      async close() {
        await substrate?.close().catch(() => undefined);
        await store.close();
      },
    };
    return self;
  } catch (e) {
    await store.close();
    throw e;
  }
}

export const RUN_ID = /^\d{8}T\d{6}Z$/;

/** The given run, or the newest matching `prefer`, else the newest. */
export async function pickRun(a: AgentCli, runId: string | undefined, prefer?: (r: RunRecord) => boolean): Promise<RunRecord | undefined> {
  if (runId !== undefined) {
    if (!RUN_ID.test(runId)) throw new KmError('usage', `invalid run id "${runId}": run ids look like 20270303T081502Z`, { hint: `km agent list ${a.name}` });
    const r = await a.store.getRun(a.sandbox.id, runId);
    if (!r) throw new KmError('not_found', `no run ${runId} on ${a.name}`, { hint: `km agent list ${a.name}` });
    return r;
  }
  const runs = await a.store.listRuns(a.sandbox.id);
  const preferred = prefer ? runs.filter(prefer) : [];
  return (preferred.length > 0 ? preferred : runs).at(-1);
}

/** The sandbox must be running to reach its runs. */
export function requireRunning(a: AgentCli): void {
  const s = a.sandbox;
  if (s.status === 'running') return;
  const why = s.status === 'paused' || s.status === 'stopped' ? `run km resume ${a.name}` : `see km status ${a.name}`;
  throw new KmError('invalid_state', `${a.name} is ${s.status}; ${why}`);
}
