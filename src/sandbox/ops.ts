/**
 * pause, resume, stop, destroy, lock, unlock, extend (SPEC §8.7, §8.8). The store's
 * compare-and-set transition claims the change first (a racing command gets
 * `invalid_state`), the lock is checked atomically with it for every caller (§17.2), and
 * messages say what actually changed.
 */
import { removeIdentity } from '../identity/index.ts';
import { formatDuration, formatRemaining } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { durationSeconds, type Profile } from '../profile/index.ts';
import type { PausedBy, SandboxRecord, SandboxStatus } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import { restoreTrustFiles } from './ca-renewal.ts';
import type { Actor } from './events.ts';
import { removeSandboxFiles, sandboxPaths } from './files.ts';
import { labelOf } from './record.ts';
import type { SandboxServiceDeps } from './types.ts';
import { localMinute, localMinuteZone } from './when.ts';

export interface OpOptions {
  actor?: Actor;
  timeZone?: string;
  reason?: string;
}

export interface OpOutcome {
  message: string;
  changed: boolean;
  record: SandboxRecord;
}

const tzOf = (o: OpOptions): string => o.timeZone ?? 'UTC';

export function lockRefusal(s: SandboxRecord, timeZone: string): KmError {
  const name = labelOf(s);
  return new KmError('sandbox_locked', `${name} is locked (since ${localMinute(s.lockedAtMs ?? s.updatedAtMs, timeZone)}); run km unlock ${name} first`, {
    details: { sandbox_id: s.id },
  });
}

function unusable(s: SandboxRecord, what: string): KmError {
  const name = labelOf(s);
  if (s.status === 'destroying') return new KmError('invalid_state', `${name} is being destroyed`);
  if (s.status === 'creating') return new KmError('invalid_state', `${name} is still being created; wait or run km destroy ${name}`);
  return new KmError('invalid_state', `${name} is ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}; cannot ${what} it`, {
    hint: `km destroy ${name} removes it`,
  });
}

/** Re-reads and maps a lost race to `invalid_state` with the current status. */
async function claim(deps: SandboxServiceDeps, s: SandboxRecord, from: readonly SandboxStatus[], to: SandboxStatus, fields: Parameters<SandboxServiceDeps['store']['transition']>[3], lockCheck: boolean, o: OpOptions): Promise<SandboxRecord> {
  try {
    return await deps.store.transition(s.id, from, to, fields, { atMs: deps.clock.now(), requireUnlocked: lockCheck });
  } catch (e) {
    if (e instanceof KmError && e.code === 'sandbox_locked') throw lockRefusal((await deps.store.getSandbox(s.id)) ?? s, tzOf(o));
    if (e instanceof KmError && e.code === 'invalid_state') {
      const cur = await deps.store.getSandbox(s.id);
      if (cur) throw unusable(cur, to === 'destroyed' ? 'destroy' : to);
    }
    throw e;
  }
}

const substrateOf = (deps: SandboxServiceDeps, s: SandboxRecord): Substrate => {
  const sub = deps.substrates[s.substrate];
  if (!sub) throw new KmError('substrate_unavailable', `substrate ${s.substrate} of ${labelOf(s)} is unavailable on this machine`);
  return sub;
};

export async function pauseSandbox(deps: SandboxServiceDeps, s: SandboxRecord, o: OpOptions & { pausedBy?: PausedBy } = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  if (s.status === 'paused') return { message: `${name} is already paused`, changed: false, record: s };
  if (s.status === 'stopped') throw new KmError('invalid_state', `${name} is stopped; resume it first`);
  if (s.status !== 'running') throw unusable(s, 'pause');
  if (s.locked) throw lockRefusal(s, tzOf(o));
  const rec = await claim(deps, s, ['running'], 'paused', { pausedBy: o.pausedBy ?? 'operator', statusReason: o.reason ?? null, expiresAtMs: s.expiresAtMs }, true, o);
  try {
    await substrateOf(deps, s).pause(s.id);
  } catch (e) {
    await deps.store.transition(s.id, ['paused'], 'running', { expiresAtMs: s.expiresAtMs }, { atMs: deps.clock.now() }).catch(() => undefined);
    throw e;
  }
  await deps.events.lifecycle(s.id, 'paused', o.actor ?? 'operator', { from: 'running', ...(o.reason ? { reason: o.reason } : {}) });
  return { message: `Paused ${name}`, changed: true, record: rec };
}

/** After an automatic (ttl) teardown, resume starts a fresh TTL (SPEC §8.6). */
function freshExpiry(deps: SandboxServiceDeps, s: SandboxRecord): number | null {
  const byTtl = s.pausedBy === 'ttl' || (s.status === 'stopped' && s.statusReason === 'ttl expired');
  if (!byTtl) return s.expiresAtMs;
  const ttlS = durationSeconds((s.profile as Profile).spec.lifecycle.ttl);
  let next = ttlS > 0 ? deps.clock.now() + ttlS * 1000 : null;
  if (next !== null && s.maxExpiresAtMs !== null) next = Math.min(next, s.maxExpiresAtMs);
  return next;
}

export async function resumeSandbox(deps: SandboxServiceDeps, s: SandboxRecord, o: OpOptions = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  if (s.status === 'running') return { message: `${name} is already running`, changed: false, record: s };
  if (s.status !== 'paused' && s.status !== 'stopped') throw unusable(s, 'resume');
  const sub = substrateOf(deps, s);
  await deps.gateways.open(s);
  await sub.resume(s.id);
  const now = deps.clock.now();
  if (s.status === 'stopped') restoreTrustFiles(deps.kmHome, s.id, now);
  const rec = await claim(deps, s, [s.status], 'running', { lastStartedAtMs: now, expiresAtMs: freshExpiry(deps, s) }, false, o);
  await deps.events.lifecycle(s.id, 'resumed', o.actor ?? 'operator', { from: s.status });
  return { message: `Resumed ${name}`, changed: true, record: rec };
}

export async function stopSandbox(deps: SandboxServiceDeps, s: SandboxRecord, o: OpOptions = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  if (s.status === 'stopped') return { message: `${name} is already stopped`, changed: false, record: s };
  if (s.status !== 'running' && s.status !== 'paused') throw unusable(s, 'stop');
  if (s.locked) throw lockRefusal(s, tzOf(o));
  const rec = await claim(deps, s, ['running', 'paused'], 'stopped', { statusReason: o.reason ?? null, expiresAtMs: s.expiresAtMs }, true, o);
  await substrateOf(deps, s).stop(s.id, { graceMs: deps.stopGraceMs ?? 10_000 });
  await deps.events.lifecycle(s.id, 'stopped', o.actor ?? 'operator', { from: s.status, ...(o.reason ? { reason: o.reason } : {}) });
  return { message: `Stopped ${name}`, changed: true, record: rec };
}

export async function destroySandbox(deps: SandboxServiceDeps, s: SandboxRecord, o: OpOptions & { purge?: boolean } = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  if (s.locked) throw lockRefusal(s, tzOf(o));
  const from: SandboxStatus[] = ['creating', 'running', 'paused', 'stopped', 'failed', 'lost'];
  if (!from.includes(s.status)) throw unusable(s, 'destroy');
  await claim(deps, s, from, 'destroying', { statusReason: o.reason ?? null, expiresAtMs: s.expiresAtMs }, true, o);
  await deps.gateways.close(s.id);
  const sub = deps.substrates[s.substrate];
  if (sub) await sub.destroy(s.id);
  removeSandboxFiles(sandboxPaths(deps.kmHome, s.id));
  await removeIdentity(deps.store, deps.kmHome, s.id);
  const rec = await deps.store.transition(s.id, ['destroying'], 'destroyed', { statusReason: o.reason ?? null, expiresAtMs: s.expiresAtMs }, { atMs: deps.clock.now() });
  await deps.events.lifecycle(s.id, 'destroyed', o.actor ?? 'operator', { from: s.status, ...(o.reason ? { reason: o.reason } : {}) });
  if (o.purge) await deps.store.purgeSandbox(s.id);
  return { message: `Destroyed ${name} (${s.id})`, changed: true, record: rec };
}

export async function lockSandbox(deps: SandboxServiceDeps, s: SandboxRecord, locked: boolean, o: OpOptions = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  const r = await deps.store.setLocked(s.id, locked, deps.clock.now());
  const record = (await deps.store.getSandbox(s.id)) ?? s;
  if (r.changed) await deps.events.lifecycle(s.id, locked ? 'locked' : 'unlocked', o.actor ?? 'operator');
  if (locked) {
    return r.changed
      ? { message: `Locked ${name}`, changed: true, record }
      : { message: `${name} was already locked (since ${localMinute(r.lockedAtMs ?? s.updatedAtMs, tzOf(o))})`, changed: false, record };
  }
  return r.changed ? { message: `Unlocked ${name}`, changed: true, record } : { message: `${name} was not locked; nothing changed`, changed: false, record };
}

export interface ExtendInput {
  byS?: number;
  idleS?: number;
  byText?: string;
}

const utcMinute = (ms: number): string => `${localMinute(ms, 'UTC')} UTC`;

export async function extendSandbox(deps: SandboxServiceDeps, s: SandboxRecord, x: ExtendInput, o: OpOptions = {}): Promise<OpOutcome> {
  const name = labelOf(s);
  if (x.byS === undefined && x.idleS === undefined) throw new KmError('usage', 'nothing to extend; give a duration and/or --idle');
  if (!['running', 'paused', 'stopped'].includes(s.status)) throw unusable(s, 'extend');
  const now = deps.clock.now();
  const timers: { expiresAtMs?: number | null; idleTimeoutS?: number | null } = {};
  if (x.byS !== undefined) {
    const base = s.expiresAtMs === null ? now : Math.max(now, s.expiresAtMs);
    const next = base + x.byS * 1000;
    if (s.maxExpiresAtMs !== null && next > s.maxExpiresAtMs) {
      const lifetime = formatDuration(Math.round((s.maxExpiresAtMs - s.createdAtMs) / 1000));
      const most = Math.max(0, Math.floor((s.maxExpiresAtMs - base) / 1000));
      throw new KmError(
        'invalid_state',
        `extending by ${x.byText ?? formatDuration(x.byS)} would pass the ${lifetime} lifetime cap of ${name} (created ${utcMinute(s.createdAtMs)}, cap ${utcMinute(s.maxExpiresAtMs)}); the most you can add is ${formatRemaining(most)}`,
        { details: { sandbox_id: s.id, max_add_s: most } },
      );
    }
    timers.expiresAtMs = next;
  }
  if (x.idleS !== undefined) timers.idleTimeoutS = x.idleS;
  const rec = await deps.store.setTimers(s.id, timers, now);
  await deps.events.lifecycle(s.id, 'extended', o.actor ?? 'operator', {
    ...(timers.expiresAtMs !== undefined ? { expires_at_ms: timers.expiresAtMs } : {}),
    ...(timers.idleTimeoutS !== undefined ? { idle_timeout_s: timers.idleTimeoutS } : {}),
  });
  const parts: string[] = [];
  if (rec.expiresAtMs !== null && x.byS !== undefined) {
    parts.push(`${name} now expires ${localMinuteZone(rec.expiresAtMs, tzOf(o))} (in ${formatRemaining((rec.expiresAtMs - now) / 1000)})`);
  }
  if (x.idleS !== undefined) parts.push(`${name} idle timeout is now ${x.idleS === 0 ? 'off' : formatDuration(x.idleS)}`);
  return { message: parts.join('\n'), changed: true, record: rec };
}
