/**
 * The real binding of the dispatcher inside kmd: each scheduled command goes through the
 * same kmd route the CLI uses (`/v1/sandboxes…`), over kmd's own socket, with actor
 * `schedule`. References are sent as stored, so aliases resolve when the schedule fires.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { topUpBudget, topUpMessage } from '../budget/index.ts';
import type { Clock } from '../core/clock.ts';
import { fromErrorBody, KmError, type ErrorBody } from '../core/errors.ts';
import type { DaemonClient } from '../daemon/index.ts';
import { PRICE_TABLE } from '../pricing/index.ts';
import { resolveSandboxRef } from '../sandbox/index.ts';
import type { EventInput, Store } from '../store/index.ts';
import { agentRunHandler, type AgentRunDeps } from './agent-handler.ts';
import type { ScheduledCreate } from './command.ts';
import { createDispatch, notAvailable, type DispatchContext, type DispatchHandlers, type DispatchResult, type ScheduledDispatch } from './dispatch.ts';

export interface KmdDispatchDeps {
  client: DaemonClient;
  /** `max_sandboxes` as configured when the create fires. */
  maxSandboxes: () => Promise<number>;
  /** How long to wait for kmd's socket to accept requests (fires due at start-up). */
  readyTimeoutMs?: number;
  /**
   * `budget-add` runs the CLI's top-up (`topUpBudget`) on this store; events are appended
   * through `appendEvents` (which redacts). Without it budget-add fires fail as unavailable.
   */
  budget?: { store: Store; clock: Clock; appendEvents: (events: EventInput[]) => Promise<void> };
  /** `agent-run` starts the run as `km agent run` does; without it agent-run fires fail as unavailable. */
  agent?: Omit<AgentRunDeps, 'resume'>;
}

interface OpResultBody {
  message: string;
  sandbox: { id: string };
}

interface SandboxBody {
  id: string;
  alias: string | null;
  number: number;
  profile: string;
}

const OP_TIMEOUT_MS = 300_000;
const CREATE_TIMEOUT_MS = 3_600_000;

/** NDJSON from the create route: the `result` line's value, or the `error` line's KmError. */
function streamResult<T>(raw: unknown): T {
  const lines = typeof raw === 'string' ? raw.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown) : [raw];
  for (const l of lines) {
    const line = l as { type?: string; result?: unknown; error?: ErrorBody };
    if (line.type === 'result') return line.result as T;
    if (line.type === 'error' && line.error) throw fromErrorBody(line.error);
  }
  throw new KmError('daemon_unavailable', 'kmd ended the create without a result');
}

type Resume = (sandboxId: string, ctx: DispatchContext) => Promise<void>;

/** `km budget add` as the CLI does it: raise the limits, re-arm warnings, resume a budget pause. */
function budgetAdd(b: NonNullable<KmdDispatchDeps['budget']>, resume: Resume): DispatchHandlers['budgetAdd'] {
  return async (c, ctx) => {
    const sb = await resolveSandboxRef(b.store, c.sandbox);
    const events: EventInput[] = [];
    const add = { ...(c.aiUsd !== null ? { aiUsd: c.aiUsd } : {}), ...(c.computeUsd !== null ? { computeUsd: c.computeUsd } : {}) };
    const r = await topUpBudget(
      {
        store: b.store,
        clock: b.clock,
        onEvent: (e) => void events.push({ timestampMs: Date.parse(e.timestamp), sandboxId: e.sandbox_id, eventType: e.event_type, source: 'kmd', detail: { ...e.detail, actor: 'schedule' } }),
        resume: (s) => resume(s.id, ctx),
      },
      sb,
      add,
      PRICE_TABLE.version,
    );
    await b.appendEvents(events);
    return { ok: true, detail: topUpMessage(r), sandboxId: sb.id };
  };
}

export function createKmdDispatch(deps: KmdDispatchDeps): ScheduledDispatch {
  const { client } = deps;
  let ready = false;
  const waitReady = async (): Promise<void> => {
    if (ready) return;
    const deadline = Date.now() + (deps.readyTimeoutMs ?? 15_000);
    for (;;) {
      try {
        await client.health({ timeoutMs: 2000 });
        ready = true;
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  };
  const who = (ctx: DispatchContext) => ({ actor: 'schedule', time_zone: ctx.timeZone });
  const op = (verb: 'pause' | 'resume' | 'stop') => async (c: { sandbox: string }, ctx: DispatchContext): Promise<DispatchResult> => {
    await waitReady();
    const r = await client.request<OpResultBody>('POST', `/v1/sandboxes/${encodeURIComponent(c.sandbox)}/${verb}`, who(ctx), { timeoutMs: OP_TIMEOUT_MS });
    return { ok: true, detail: r.message, sandboxId: r.sandbox.id };
  };
  const resume: Resume = async (id, ctx) => void (await op('resume')({ sandbox: id }, ctx));
  const create = async (c: ScheduledCreate): Promise<DispatchResult> => {
    await waitReady();
    const config = { ...c.config, maxSandboxes: await deps.maxSandboxes() };
    const body = { profile: c.profile, profileName: c.profileName, alias: c.alias, overrides: c.overrides, config, createdBy: 'schedule', timeZone: c.timeZone };
    const raw = await client.request<unknown>('POST', '/v1/sandboxes', body, { timeoutMs: CREATE_TIMEOUT_MS });
    const s = streamResult<SandboxBody>(raw);
    return { ok: true, detail: `created ${s.id} (${s.alias === null ? '' : `${s.alias}, `}#${s.number}) from ${s.profile}`, sandboxId: s.id };
  };
  return createDispatch({
    create,
    pause: op('pause'),
    resume: op('resume'),
    stop: op('stop'),
    async destroy(c, ctx) {
      await waitReady();
      const path = `/v1/sandboxes/${encodeURIComponent(c.sandbox)}${c.purge ? '?purge=1' : ''}`;
      const r = await client.request<OpResultBody>('DELETE', path, who(ctx), { timeoutMs: OP_TIMEOUT_MS });
      return { ok: true, detail: r.message, sandboxId: r.sandbox.id };
    },
    async extend(c, ctx) {
      await waitReady();
      const body = { ...who(ctx), ...(c.byS !== null ? { by_s: c.byS } : {}), ...(c.byText !== null ? { by_text: c.byText } : {}), ...(c.idleS !== null ? { idle_s: c.idleS } : {}) };
      const r = await client.request<OpResultBody>('POST', `/v1/sandboxes/${encodeURIComponent(c.sandbox)}/extend`, body, { timeoutMs: OP_TIMEOUT_MS });
      return { ok: true, detail: r.message, sandboxId: r.sandbox.id };
    },
    budgetAdd: deps.budget ? budgetAdd(deps.budget, resume) : notAvailable('budget add'),
    agentRun: deps.agent ? agentRunHandler({ ...deps.agent, resume }) : notAvailable('agent run'),
  });
}
