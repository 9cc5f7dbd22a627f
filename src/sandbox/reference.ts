/**
 * Reference resolution (SPEC §8.3): `<sb>` is an exact ID, an alias (case-insensitive) or a
 * local number (`3` or `#3`). One function for every command and every caller.
 */
import { toIso } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import type { SandboxRecord, SandboxStore } from '../store/index.ts';

export interface ResolveRefOptions {
  /** Read-only commands (status, logs, list --all) may name destroyed sandboxes. */
  allowDestroyed?: boolean;
}

const destroyedError = (s: SandboxRecord): KmError =>
  new KmError('not_found', `${s.id} was destroyed at ${toIso(s.destroyedAtMs ?? s.updatedAtMs)}`, {
    hint: 'km list --all shows destroyed sandboxes',
    details: { sandbox_id: s.id },
  });

export async function resolveSandboxRef(store: SandboxStore, ref: string, options: ResolveRefOptions = {}): Promise<SandboxRecord> {
  const text = ref.trim();
  if (text === '') throw new KmError('usage', 'empty sandbox reference', { hint: 'give an id, alias or number (see km list)' });
  const keep = (s: SandboxRecord): SandboxRecord => {
    if (s.status === 'destroyed' && !options.allowDestroyed) throw destroyedError(s);
    return s;
  };
  const byId = await store.getSandbox(text);
  if (byId) return keep(byId);
  const byAlias = await store.getSandboxByAlias(text.toLowerCase(), { includeDestroyed: true });
  if (byAlias) return keep(byAlias);
  const num = /^#?(\d{1,9})$/.exec(text);
  if (num) {
    const s = await store.getSandboxByNumber(Number(num[1]));
    if (s) return s;
    throw new KmError('not_found', `#${Number(num[1])} is not a current sandbox number; run km list`);
  }
  throw new KmError('not_found', `no sandbox matches "${text}" (not an id, alias or number; see km list)`);
}
