/**
 * The `notify` service of kmd: budget notices by email when the operator configured an SMTP
 * transport (`mail.transport: smtp` with `mail.smtp`). With `local` or `ses` nothing is
 * mailed and one log line at start says why; the events stay in the log either way.
 */
import { join } from 'node:path';
import { createRedactor } from '../audit/index.ts';
import { loadOperatorConfig, sqliteStorePath, type OperatorConfig } from '../config/index.ts';
import type { DaemonService } from '../daemon/index.ts';
import { createSmtpTransport, type ExternalTransport } from '../mail/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { fileCursor } from './cursor.ts';
import { startBudgetEmailNotifier } from './notifier.ts';

export interface NotifyServiceOptions {
  env?: NodeJS.ProcessEnv;
  pollMs?: number;
  /** Replaces the SMTP transport built from the config (tests). */
  transport?: (smtp: NonNullable<OperatorConfig['mail']['smtp']>) => ExternalTransport;
}

/** `$KM_HOME/notify/budget-email.seq`: the last event seq the email notifier handled. */
export const budgetEmailCursorPath = (kmHome: string): string => join(kmHome, 'notify', 'budget-email.seq');

/** Why email notices are off for this config, or undefined when they are on. */
export function emailDisabledReason(config: OperatorConfig): string | undefined {
  if (config.mail.transport !== 'smtp') return `budget notifications by email need mail.transport: smtp (it is ${config.mail.transport})`;
  if (!config.mail.smtp) return 'budget notifications by email need mail.smtp (host, port, …) with mail.transport: smtp';
  return undefined;
}

/** The sender of notices: `mail.smtp.from`, else `operator_email`, else `km@<domain>`. */
export function noticeSender(config: OperatorConfig): string {
  return config.mail.smtp?.from ?? config.operator_email ?? `km@${config.domain ?? 'localhost'}`;
}

export function notifyDaemonService(options: NotifyServiceOptions = {}): DaemonService {
  return {
    name: 'notify',
    async start(ctx) {
      const env = options.env ?? process.env;
      const { config } = await loadOperatorConfig({ env, cwd: ctx.stateDir });
      const off = emailDisabledReason(config);
      if (off !== undefined) {
        ctx.log('info', off, { service: 'notify' });
        return;
      }
      const smtp = config.mail.smtp!;
      if (!config.notifiers.email?.to.length && !config.operator_email) {
        ctx.log('warn', 'budget notifications by email have no default recipient (set notifiers.email.to or operator_email); only sandboxes with cli.notificationEmailAddress get them', { service: 'notify' });
      }
      const store = await openSqliteStore(sqliteStorePath(config, { stateDir: ctx.stateDir, cwd: ctx.stateDir, env }), { clock: ctx.clock });
      const transport = (options.transport ?? createSmtpTransport)(smtp);
      try {
        const notifier = await startBudgetEmailNotifier(
          { store, transport, cursor: fileCursor(budgetEmailCursorPath(ctx.stateDir)), clock: ctx.clock, redactor: createRedactor({ literals: config.audit.redact_literals }), log: ctx.log },
          { from: noticeSender(config), defaults: { notifiersTo: config.notifiers.email?.to, operatorEmail: config.operator_email }, ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}) },
        );
        return {
          async close() {
            await notifier.close();
            transport.close();
            await store.close();
          },
        };
      } catch (e) {
        transport.close();
        await store.close();
        throw e;
      }
    },
  };
}
