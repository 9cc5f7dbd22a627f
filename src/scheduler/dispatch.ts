/**
 * Running a scheduled command: one explicit handler per schedulable command, bound by the
 * caller to the same service functions the CLI reaches (kmd's routes). A command the
 * dispatcher does not know is rejected, never run (SPEC §17.1).
 */
import type { ScheduledCommand, ScheduledCreate } from './command.ts';

export interface DispatchContext {
  scheduleName: string;
  /** The instant the fire was due. */
  fireAtMs: number;
  /** The schedule's zone, for times in messages. */
  timeZone: string;
}

export interface DispatchResult {
  ok: boolean;
  /** What happened, for the fire history: the service's message, a run id, or the error. */
  detail: string;
  /** The sandbox acted on (or created), when known: attributes the `schedule.fired` event. */
  sandboxId?: string;
}

export type ScheduledDispatch = (command: ScheduledCommand, ctx: DispatchContext) => Promise<DispatchResult>;

type Of<N extends ScheduledCommand['name']> = Extract<ScheduledCommand, { name: N }>;

export interface DispatchHandlers {
  create(c: ScheduledCreate, ctx: DispatchContext): Promise<DispatchResult>;
  destroy(c: Of<'destroy'>, ctx: DispatchContext): Promise<DispatchResult>;
  stop(c: Of<'stop'>, ctx: DispatchContext): Promise<DispatchResult>;
  pause(c: Of<'pause'>, ctx: DispatchContext): Promise<DispatchResult>;
  resume(c: Of<'resume'>, ctx: DispatchContext): Promise<DispatchResult>;
  extend(c: Of<'extend'>, ctx: DispatchContext): Promise<DispatchResult>;
  budgetAdd(c: Of<'budget-add'>, ctx: DispatchContext): Promise<DispatchResult>;
  agentRun(c: Of<'agent-run'>, ctx: DispatchContext): Promise<DispatchResult>;
}

/** A handler for a command this version cannot run: the fire is recorded failed, never faked. */
export const notAvailable =
  (what: string) =>
  async (): Promise<DispatchResult> => ({ ok: false, detail: `${what} is not available in this version` });

export function createDispatch(h: DispatchHandlers): ScheduledDispatch {
  return async (command, ctx) => {
    switch (command.name) {
      case 'create':
        return h.create(command, ctx);
      case 'destroy':
        return h.destroy(command, ctx);
      case 'stop':
        return h.stop(command, ctx);
      case 'pause':
        return h.pause(command, ctx);
      case 'resume':
        return h.resume(command, ctx);
      case 'extend':
        return h.extend(command, ctx);
      case 'budget-add':
        return h.budgetAdd(command, ctx);
      case 'agent-run':
        return h.agentRun(command, ctx);
      default: {
        const name = (command as { name?: unknown }).name;
        return { ok: false, detail: `rejected: "${String(name)}" is not a schedulable command; nothing was run` };
      }
    }
  };
}
