/**
 * The live gateways of kmd, one per sandbox that can run (SPEC §3.1): opened at create and
 * for every live sandbox when kmd starts, closed at destroy and shutdown. Gateway events go
 * to the store (redacted) and count as activity for the idle clock.
 */
import type { Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { loadSandboxCa, openSandboxGateway, type OpenSandboxGatewayOptions, type SandboxGateway } from '../gateway/index.ts';
import { compilePolicy } from '../policy/index.ts';
import type { Profile } from '../profile/index.ts';
import type { SandboxRecord, SandboxStore } from '../store/index.ts';
import type { EventRecorder } from './events.ts';
import { readGatewaySettings, readSandboxCa, sandboxPaths } from './files.ts';

export interface GatewayManager {
  open(s: SandboxRecord): Promise<SandboxGateway>;
  get(id: string): SandboxGateway | undefined;
  close(id: string): Promise<void>;
  closeAll(): Promise<void>;
}

export interface GatewayManagerDeps {
  kmHome: string;
  store: SandboxStore;
  events: EventRecorder;
  clock: Clock;
  /** Minimum gap between activity writes per sandbox. */
  activityEveryMs?: number;
  /** Metering: the exchange hook for a sandbox's intercepted AI traffic. */
  exchangeFor?: (s: SandboxRecord) => OpenSandboxGatewayOptions['exchange'];
}

export function createGatewayManager(deps: GatewayManagerDeps): GatewayManager {
  const open = new Map<string, SandboxGateway>();
  const lastWrite = new Map<string, number>();
  const every = deps.activityEveryMs ?? 2000;
  const activity = (id: string, atMs: number): void => {
    if (atMs - (lastWrite.get(id) ?? 0) < every) return;
    lastWrite.set(id, atMs);
    void deps.store.recordActivity(id, atMs).catch(() => undefined);
  };
  return {
    async open(s) {
      const existing = open.get(s.id);
      if (existing) return existing;
      const paths = sandboxPaths(deps.kmHome, s.id);
      const caFiles = readSandboxCa(paths);
      const settings = readGatewaySettings(paths);
      if (!caFiles || !settings) throw new KmError('failed', `${s.id} has no CA or gateway settings in ${paths.stateDir}`);
      const profile = s.profile as Profile;
      const policy = compilePolicy(profile.spec, {
        sandboxId: s.id,
        extraMeteringHosts: settings.extraMeteringHosts,
        hostOverrides: settings.upstream.hostOverrides ?? {},
      });
      const gw = profile.spec.sourceAccess.github;
      const handle = await openSandboxGateway({
        sandboxId: s.id,
        policy,
        github: {
          mode: profile.spec.sourceAccess.mode,
          allowedRepos: gw.allowedRepos,
          ...(gw.allowedRefs !== undefined ? { allowedRefs: gw.allowedRefs } : {}),
          allowForcePush: gw.allowForcePush,
          allowRefDeletion: gw.allowRefDeletion,
          allowGraphQL: gw.allowGraphQL,
        },
        ca: loadSandboxCa(caFiles.certPem, caFiles.keyPem),
        gatewayDir: paths.gatewayDir,
        config: settings.upstream,
        clock: deps.clock,
        onEvents: (batch) =>
          void deps.events.batch(batch.map((e) => ({ timestampMs: e.timestampMs, sandboxId: s.id, eventType: e.eventType, source: 'gateway', detail: e.detail }))),
        onActivity: (atMs) => activity(s.id, atMs),
        ...(deps.exchangeFor ? { exchange: deps.exchangeFor(s) } : {}),
      });
      open.set(s.id, handle);
      return handle;
    },
    get: (id) => open.get(id),
    async close(id) {
      const h = open.get(id);
      open.delete(id);
      lastWrite.delete(id);
      await h?.close();
    },
    async closeAll() {
      const all = [...open.values()];
      open.clear();
      await Promise.allSettled(all.map((h) => h.close()));
    },
  };
}
