/**
 * The km.internal service of kmd (SPEC §3.1, §12, §13.4): the mail service, the OTLP
 * receiver and one listener per live sandbox, reconciled with the store whenever a gateway
 * directory appears or goes (a new sandbox is served as soon as its gateway is open) and
 * every few seconds (so sandboxes created, restarted or destroyed by any path are picked up).
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { createRedactor } from '../audit/index.ts';
import { loadOperatorConfig, sqliteStorePath } from '../config/index.ts';
import type { DaemonService } from '../daemon/index.ts';
import { createMailService, createSmtpTransport } from '../mail/index.ts';
import { resolveSandboxRef } from '../sandbox/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { createOtlpReceiver } from '../telemetry/index.ts';
import { createInternalApiManager } from './manager.ts';
import { createSudoHandler } from './sudo.ts';

export function kmInternalDaemonService(options: { env?: NodeJS.ProcessEnv; reconcileEveryMs?: number } = {}): DaemonService {
  return {
    name: 'km-internal',
    async start(ctx) {
      const env = options.env ?? process.env;
      const { config } = await loadOperatorConfig({ env, cwd: ctx.stateDir });
      const store = await openSqliteStore(sqliteStorePath(config, { stateDir: ctx.stateDir, cwd: ctx.stateDir, env }), { clock: ctx.clock });
      const redactor = createRedactor({ literals: config.audit.redact_literals });
      const smtp = config.mail.transport === 'smtp' ? config.mail.smtp : undefined;
      const mail = createMailService({
        store, kmHome: ctx.stateDir, clock: ctx.clock, redactor,
        address: { emailSubdomain: config.email_subdomain, domain: config.domain, operatorEmail: config.operator_email },
        allowExternal: config.mail.allow_external,
        external: smtp ? createSmtpTransport(smtp) : undefined,
        resolveSandbox: (ref) => resolveSandboxRef(store, ref),
      });
      const telemetry = createOtlpReceiver({ store, redactor, clock: ctx.clock });
      const sudo = createSudoHandler({ kmHome: ctx.stateDir, store, redactor, clock: ctx.clock });
      const manager = createInternalApiManager({ kmHome: ctx.stateDir, store, mail, telemetry, clock: ctx.clock, sudo, ...(config.timezone ? { timeZone: config.timezone } : {}), log: (l, m, f) => ctx.log(l, m, f) });
      await manager.reconcile();
      let running: Promise<void> | undefined;
      let again = false;
      const kick = (): void => {
        if (running) {
          again = true;
          return;
        }
        running = manager.reconcile().finally(() => {
          running = undefined;
          if (again) (again = false), kick();
        });
      };
      const timer = setInterval(kick, options.reconcileEveryMs ?? 2000);
      timer.unref();
      const gateways = join(ctx.stateDir, 'gateways');
      let watcher: FSWatcher | undefined;
      try {
        mkdirSync(gateways, { recursive: true, mode: 0o755 });
        watcher = watch(gateways, kick);
        watcher.on('error', () => watcher?.close());
      } catch {
        watcher = undefined; // the timer still reconciles
      }
      return {
        async close() {
          watcher?.close();
          clearInterval(timer);
          await running;
          await manager.closeAll();
          mail.close();
          await store.close();
        },
      };
    },
  };
}
