/**
 * What every learn command needs on the CLI side: the operator config, the store (read
 * directly, like km exec), the sandbox named by `<sb>` and the learn service over them.
 */
import { createRedactor } from '../audit/index.ts';
import { sqliteStorePath } from '../config/index.ts';
import { createLearnService, type LearnService } from '../learn/index.ts';
import { createEventRecorder, labelOf, resolveSandboxRef } from '../sandbox/index.ts';
import { openSqliteStore, type SandboxRecord, type Store } from '../store/index.ts';
import { sandboxContext, type SandboxCliContext } from './sandbox-context.ts';
import type { CommandContext } from './spec.ts';

export interface LearnContext {
  c: SandboxCliContext;
  store: Store;
  sandbox: SandboxRecord;
  label: string;
  learn: LearnService;
}

/** Opens the store and resolves `ref`; the caller closes `store`. */
export async function openLearnContext(ctx: CommandContext, ref: string, options: { allowDestroyed?: boolean } = {}): Promise<LearnContext> {
  const c = await sandboxContext(ctx);
  const store = await openSqliteStore(sqliteStorePath(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }), { clock: ctx.clock });
  try {
    const sandbox = await resolveSandboxRef(store, ref, { allowDestroyed: options.allowDestroyed === true });
    const redactor = createRedactor({ literals: c.config.audit.redact_literals });
    const events = createEventRecorder({ store, redactor, clock: ctx.clock, onError: (e) => { throw e; } });
    const learn = createLearnService({ store, record: (...a) => events.record(...a), clock: ctx.clock });
    return { c, store, sandbox, label: labelOf(sandbox), learn };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export async function withLearnContext<T>(ctx: CommandContext, ref: string, options: { allowDestroyed?: boolean }, fn: (l: LearnContext) => Promise<T>): Promise<T> {
  const l = await openLearnContext(ctx, ref, options);
  try {
    return await fn(l);
  } finally {
    await l.store.close();
  }
}
