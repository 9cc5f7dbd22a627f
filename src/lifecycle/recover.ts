/**
 * After kmd (re)starts, every sandbox is brought back to its true state (SPEC §8.1, §14.2):
 * running trees are adopted and their gateways reopened; a tree whose processes are gone
 * while its layer exists becomes `stopped` (`host restart`); a missing layer is `lost`; an
 * interrupted create is `failed`; an interrupted destroy is finished.
 */
import type { Clock } from '../core/clock.ts';
import type { EventRecorder, GatewayManager } from '../sandbox/index.ts';
import { sandboxPaths } from '../sandbox/index.ts';
import type { SandboxRecord, SandboxStatus, SandboxStore } from '../store/index.ts';
import type { Substrate, SubstrateStatus } from '../substrate/index.ts';

export interface RecoverDeps {
  kmHome: string;
  store: SandboxStore;
  substrates: Readonly<Record<string, Substrate>>;
  gateways: Pick<GatewayManager, 'open'>;
  events: EventRecorder;
  clock: Clock;
  destroy: (s: SandboxRecord) => Promise<unknown>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface RecoverReport {
  id: string;
  from: SandboxStatus;
  to: SandboxStatus;
}

async function substrateStatus(deps: RecoverDeps, sub: Substrate, s: SandboxRecord): Promise<SubstrateStatus> {
  try {
    return (await sub.adopt(s.id, sandboxPaths(deps.kmHome, s.id).stateDir)).status;
  } catch {
    return 'missing';
  }
}

async function recoverOne(deps: RecoverDeps, s: SandboxRecord): Promise<RecoverReport | null> {
  const at = { atMs: deps.clock.now() };
  const sub = deps.substrates[s.substrate];
  if (!sub) return null;
  if (s.status === 'destroying') {
    await deps.store.transition(s.id, ['destroying'], 'stopped', { statusReason: 'host restart' }, at);
    await deps.destroy({ ...s, status: 'stopped' });
    return { id: s.id, from: s.status, to: 'destroyed' };
  }
  const actual = await substrateStatus(deps, sub, s);
  if (s.status === 'creating') {
    if (actual !== 'missing') await sub.stop(s.id, { graceMs: 0 }).catch(() => undefined);
    await deps.store.transition(s.id, ['creating'], 'failed', { statusReason: 'kmd restarted during create' }, at);
    return { id: s.id, from: s.status, to: 'failed' };
  }
  if (s.status !== 'running' && s.status !== 'paused' && s.status !== 'stopped') return null;
  if (actual === 'missing') {
    await deps.store.transition(s.id, [s.status], 'lost', { statusReason: 'the sandbox filesystem is gone' }, at);
    await deps.events.lifecycle(s.id, 'lost', 'host', { reason: 'filesystem missing after kmd restart' });
    return { id: s.id, from: s.status, to: 'lost' };
  }
  await deps.gateways.open(s);
  if (actual === s.status) return null;
  const fields = actual === 'stopped' ? { statusReason: 'host restart', expiresAtMs: s.expiresAtMs } : { expiresAtMs: s.expiresAtMs, pausedBy: s.pausedBy ?? 'operator' };
  await deps.store.transition(s.id, [s.status], actual, fields, at);
  await deps.events.lifecycle(s.id, actual, 'host', { reason: 'host restart', from: s.status });
  return { id: s.id, from: s.status, to: actual };
}

export async function recoverSandboxes(deps: RecoverDeps): Promise<RecoverReport[]> {
  const out: RecoverReport[] = [];
  for (const s of await deps.store.listSandboxes({ statuses: ['creating', 'running', 'paused', 'stopped', 'destroying'] })) {
    try {
      const r = await recoverOne(deps, s);
      if (r) out.push(r);
    } catch (e) {
      deps.log?.('error', 'recovering sandbox failed', { sandbox: s.id, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
