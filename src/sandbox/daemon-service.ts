/**
 * The sandboxes service of kmd: opens the store, the local substrate and the gateway
 * manager, brings every sandbox back to its true state (gateways reopened), registers the
 * `/v1/sandboxes` routes and runs the lifecycle reconciler. Closed in reverse.
 */
import { createRedactor } from '../audit/index.ts';
import { loadOperatorConfig, operatorPrivateFiles, sqliteStorePath } from '../config/index.ts';
import type { DaemonService } from '../daemon/index.ts';
import { createReconciler, recoverSandboxes } from '../lifecycle/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { createLocalSubstrate, localSubstrateAvailability, type Substrate } from '../substrate/index.ts';
import { createCaRenewer } from './ca-renewal.ts';
import { createEventRecorder } from './events.ts';
import { createGatewayManager } from './gateways.ts';
import { createSandboxMeter, type SandboxMeterConfig } from '../metering/index.ts';
import { createComputeAccruer } from '../budget/index.ts';
import { registerSandboxRoutes } from './routes.ts';
import { createSandboxService } from './service.ts';

export function sandboxDaemonService(options: { env?: NodeJS.ProcessEnv } = {}): DaemonService {
  return {
    name: 'sandboxes',
    async start(ctx) {
      const env = options.env ?? process.env;
      const loaded = await loadOperatorConfig({ env, cwd: ctx.stateDir });
      const { config } = loaded;
      const where = { stateDir: ctx.stateDir, cwd: ctx.stateDir, env };
      const store = await openSqliteStore(sqliteStorePath(config, where), { clock: ctx.clock });
      const redactor = createRedactor({ literals: config.audit.redact_literals });
      const events = createEventRecorder({ store, redactor, clock: ctx.clock, onError: (e) => ctx.log('error', 'event write failed', { error: String(e) }) });
      // AI metering and the AI hard stop: one meter per sandbox gateway (SPEC §6).
      const meterConfig = { pricing: config.pricing as SandboxMeterConfig['pricing'], extraHosts: config.metering.extra_hosts };
      const gateways = createGatewayManager({
        kmHome: ctx.stateDir, store, events, clock: ctx.clock,
        exchangeFor: (s) => createSandboxMeter({ store, clock: ctx.clock, record: (e) => void events.batch(e) }, meterConfig, s.id).exchange,
      });
      // BPF gatekeeper denies (SPEC §3.5) become `ebpf.deny` events (already rate-bounded by the substrate).
      // The config files, the store and key files may lie outside KM_HOME: masked in sandboxes too.
      const local = createLocalSubstrate({ kmHome: ctx.stateDir, extraMasks: operatorPrivateFiles(loaded, where), onDeny: (id, d) => void events.record(id, 'ebpf.deny', 'kmd', { ...d }) });
      const availability = localSubstrateAvailability();
      const substrates: Record<string, Substrate> = availability.ok ? { local } : {};
      const unavailable: Record<string, string> = availability.ok ? {} : { local: availability.reason ?? 'unknown reason' };
      if (!availability.ok) ctx.log('warn', 'local substrate unavailable', { reason: availability.reason });
      const service = createSandboxService(
        { kmHome: ctx.stateDir, store, substrates, gateways, events, clock: ctx.clock, unavailable },
        { stats: (id) => gateways.get(id)?.stats() },
      );
      const log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => ctx.log(level, message, fields);
      const recovered = await recoverSandboxes({
        kmHome: ctx.stateDir, store, substrates, gateways, events, clock: ctx.clock, log,
        destroy: (s) => service.ops.destroy(s, { actor: 'host', reason: 'finishing an interrupted destroy' }),
      });
      for (const r of recovered) ctx.log('info', 'sandbox reconciled', { ...r });
      registerSandboxRoutes(ctx.router, service);
      const caRenewer = createCaRenewer({ kmHome: ctx.stateDir, clock: ctx.clock, gateway: (id) => gateways.get(id), events });
      const compute = createComputeAccruer({ store, clock: ctx.clock, onEvent: (e) => void events.batch([{ timestampMs: Date.parse(e.timestamp), sandboxId: e.sandbox_id, eventType: e.event_type, source: e.source, detail: e.detail }]) });
      const reconciler = createReconciler({ store, service, events, clock: ctx.clock, log, caRenewer, compute });
      return {
        async close() {
          await reconciler.close();
          await gateways.closeAll();
          await local.close();
          await store.close();
        },
      };
    },
  };
}
