/** Who a `--to`/`--cc` entry names (SPEC §12.5): an identity (sandbox or operator) or an external address. */
import { KmError } from '../core/errors.ts';
import { mailDomain, type AddressConfig } from '../identity/index.ts';
import type { IdentityRecord, IdentityStore } from '../store/index.ts';

export type Recipient =
  | { kind: 'identity'; label: string; identity: IdentityRecord }
  | { kind: 'external'; label: string; address: string };

export interface RecipientDeps {
  store: IdentityStore;
  address: AddressConfig & { operatorEmail?: string | undefined };
  /** Resolves `<sb>` (id, alias, number) to a sandbox id; throws `not_found`. */
  resolveSandbox: (ref: string) => Promise<{ id: string }>;
  /** The operator identity (created on first use). */
  operator: () => Promise<IdentityRecord>;
}

const ADDRESS = /^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$/;

async function identityOf(deps: RecipientDeps, id: string, label: string): Promise<Recipient> {
  if (id === 'operator') return { kind: 'identity', label, identity: await deps.operator() };
  const identity = await deps.store.getIdentity(id);
  if (!identity) throw new KmError('not_found', `${id} has no mail identity`, { hint: 'sandboxes get one at create; this one predates mail or was destroyed' });
  return { kind: 'identity', label, identity };
}

export async function resolveRecipient(deps: RecipientDeps, ref: string): Promise<Recipient> {
  const text = ref.trim();
  if (text === '') throw new KmError('usage', 'empty recipient', { hint: 'give a sandbox (id, alias, number), operator, or an address' });
  if (!text.includes('@')) {
    // SPEC §8.3: id, alias and number first; the word `operator` last.
    let id: string;
    try {
      id = (await deps.resolveSandbox(text)).id;
    } catch (e) {
      if (text.toLowerCase() === 'operator' && e instanceof KmError && e.code === 'not_found') return identityOf(deps, 'operator', 'operator');
      throw e;
    }
    return identityOf(deps, id, text);
  }
  const address = text.toLowerCase();
  if (!ADDRESS.test(address)) throw new KmError('usage', `invalid address "${text}"`, { hint: 'use name@example.com, a sandbox id or alias, or operator' });
  if (deps.address.operatorEmail && address === deps.address.operatorEmail.toLowerCase()) return identityOf(deps, 'operator', text);
  const [local, domain] = address.split('@') as [string, string];
  if (domain === mailDomain(deps.address)) {
    if (local === 'operator') return identityOf(deps, 'operator', text);
    const identity = await deps.store.getIdentity(local);
    if (!identity) throw new KmError('not_found', `no sandbox has the address ${address}`, { hint: 'km identity list shows the addresses' });
    return { kind: 'identity', label: text, identity };
  }
  return { kind: 'external', label: text, address };
}

/** `a,b` and repeated flags alike, without duplicates (case-insensitive). */
export function splitRecipients(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const t = v.trim();
    if (t === '' || seen.has(t.toLowerCase())) continue;
    seen.add(t.toLowerCase());
    out.push(t);
  }
  return out;
}
