/**
 * For commands that read and write the store directly (mail, identities, logs, telemetry):
 * operator config, the store, the redactor with the operator's literals, the time zone.
 */
import { createRedactor, type Redactor } from '../audit/index.ts';
import { sqliteStorePath } from '../config/index.ts';
import { createMailService, createSmtpTransport, type MailService } from '../mail/index.ts';
import { resolveSandboxRef } from '../sandbox/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { sandboxContext, type SandboxCliContext } from './sandbox-context.ts';
import type { CommandContext } from './spec.ts';

export interface StoreContext {
  c: SandboxCliContext;
  store: Store;
  redactor: Redactor;
}

/** Runs `fn` with an open store, closed afterwards. */
export async function withStore<T>(ctx: CommandContext, fn: (s: StoreContext) => Promise<T>): Promise<T> {
  const c = await sandboxContext(ctx);
  const store = await openSqliteStore(sqliteStorePath(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }), { clock: ctx.clock });
  try {
    return await fn({ c, store, redactor: createRedactor({ literals: c.config.audit.redact_literals }) });
  } finally {
    await store.close();
  }
}

/** The mail service as configured (`mail.*`, `domain`, `email_subdomain`, `operator_email`). */
export function mailServiceOf(s: StoreContext, ctx: CommandContext): MailService {
  const cfg = s.c.config;
  const smtp = cfg.mail.transport === 'smtp' ? cfg.mail.smtp : undefined;
  return createMailService({
    store: s.store,
    kmHome: s.c.stateDir,
    clock: ctx.clock,
    redactor: s.redactor,
    address: { emailSubdomain: cfg.email_subdomain, domain: cfg.domain, operatorEmail: cfg.operator_email },
    allowExternal: cfg.mail.allow_external,
    external: smtp ? createSmtpTransport(smtp) : undefined,
    resolveSandbox: (ref) => resolveSandboxRef(s.store, ref),
  });
}
