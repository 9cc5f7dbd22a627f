/**
 * What TTL and idle expiry do to a sandbox right now (SPEC §8.6). Pure: a record and an
 * instant in, an action or null out.
 */
import type { Profile } from '../profile/index.ts';
import type { SandboxRecord } from '../store/index.ts';
import { idleSinceMs } from '../sandbox/index.ts';

export type TeardownAction = 'destroy' | 'stop' | 'pause' | 'retain';
export type Trigger = 'ttl' | 'idle';

export interface TeardownDecision {
  trigger: Trigger;
  action: TeardownAction;
  /** Identifies this expiry, so an event-only outcome is recorded once. */
  key: string;
}

const HIBERNATING_SUBSTRATES = new Set(['local', 'ec2']);

export function policyAction(s: SandboxRecord): TeardownAction {
  if (s.teardownPolicy === 'destroy') return 'destroy';
  if (s.teardownPolicy === 'retain') return 'retain';
  const hibernation = (s.profile as Profile | null)?.spec?.runtime?.hibernation === true;
  return hibernation && HIBERNATING_SUBSTRATES.has(s.substrate) ? 'pause' : 'stop';
}

/** Whether the action would change anything for the sandbox's current status. */
function applies(action: TeardownAction, s: SandboxRecord): boolean {
  if (action === 'pause') return s.status === 'running';
  if (action === 'stop') return s.status === 'running' || s.status === 'paused';
  return true;
}

export function decideTeardown(s: SandboxRecord, nowMs: number): TeardownDecision | null {
  if (s.status !== 'running' && s.status !== 'paused' && s.status !== 'stopped') return null;
  const action = policyAction(s);
  if (s.expiresAtMs !== null && nowMs >= s.expiresAtMs) {
    return applies(action, s) ? { trigger: 'ttl', action, key: `${s.id}:ttl:${s.expiresAtMs}` } : null;
  }
  if (s.status === 'running' && s.idleTimeoutS !== null && s.idleTimeoutS > 0) {
    const since = idleSinceMs(s);
    if (nowMs >= since + s.idleTimeoutS * 1000) return { trigger: 'idle', action, key: `${s.id}:idle:${since}` };
  }
  return null;
}
