/** Shared setup for the sandbox and lifecycle unit tests (tests only). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedactor } from '../audit/index.ts';
import { createManualClock, type ManualClock } from '../core/clock.ts';
import { createMemoryReader, resolveProfile, type ResolvedProfile } from '../profile/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createEventRecorder, type EventRecorder } from './events.ts';
import { createGatewayManager, type GatewayManager } from './gateways.ts';
import { createSandboxService, type SandboxService } from './service.ts';
import { createSubstrateDouble, type SubstrateDouble } from './test-substrate.ts';
import type { CreateConfig, CreateRequest, SandboxServiceDeps } from './types.ts';

export const T0 = Date.parse('2027-03-01T09:00:00Z');

export interface Harness {
  dir: string;
  store: Store;
  clock: ManualClock;
  substrate: SubstrateDouble;
  gateways: GatewayManager;
  events: EventRecorder;
  deps: SandboxServiceDeps;
  service: SandboxService;
  close(): Promise<void>;
}

export const testConfig = (over: Partial<CreateConfig> = {}): CreateConfig => ({
  maxSandboxes: 10,
  gateway: { upstreamDns: ['127.0.0.1:9'], hostOverrides: {} },
  extraMeteringHosts: [],
  initTimeoutS: 30,
  requireEbpf: false,
  emailSubdomain: 'sandboxes',
  ...over,
});

/** A resolved profile from YAML `spec` lines (indented two spaces under `spec:`). */
export function profileOf(name: string, spec: string, extra = ''): ResolvedProfile {
  const text = `apiVersion: klankermaker.ai/v1alpha1\nkind: SandboxProfile\nmetadata:\n  name: ${name}\n${extra}spec:\n${spec}`;
  const r = resolveProfile('/p/x.yaml', { cwd: '/p', searchPaths: [], reader: createMemoryReader({ '/p/x.yaml': text }) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resolved;
}

export const basicSpec = (lifecycle = '{ ttl: "1h", idleTimeout: "30m", teardownPolicy: destroy }') =>
  `  lifecycle: ${lifecycle}\n  network:\n    egress:\n      allowedHosts: ["allowed.test"]\n`;

export function request(p: ResolvedProfile, over: Partial<CreateRequest> = {}): CreateRequest {
  return { profile: p.profile, profileName: p.name, abstract: p.abstract, config: testConfig(), ...over };
}

export async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'km-sbsvc-'));
  const clock = createManualClock(T0);
  const store = await openSqliteStore(join(dir, 'km.db'), { clock });
  const substrate = createSubstrateDouble();
  const events = createEventRecorder({ store, redactor: createRedactor(), clock });
  const gateways = createGatewayManager({ kmHome: dir, store, events, clock });
  let n = 0;
  const deps: SandboxServiceDeps = {
    kmHome: dir, store, substrates: { local: substrate }, gateways, events, clock, stopGraceMs: 0,
    newId: (prefix) => `${prefix}-${(0xa0000000 + ++n).toString(16)}`,
  };
  const service = createSandboxService(deps, { stats: (id) => gateways.get(id)?.stats() });
  return {
    dir, store, clock, substrate, gateways, events, deps, service,
    async close() {
      await gateways.closeAll();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
