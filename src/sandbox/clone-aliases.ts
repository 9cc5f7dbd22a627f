/** The aliases `km clone --count N` gives its clones (SPEC §8.10): alias-1 … alias-N. */
import { KmError } from '../core/errors.ts';

export function cloneAliases(alias: string | null | undefined, count: number): Array<string | null> {
  if (!Number.isInteger(count) || count < 1 || count > 20) throw new KmError('usage', `--count must be 1 to 20, not ${count}`);
  if (count === 1) return [alias ?? null];
  if (!alias) throw new KmError('usage', '--count needs an alias', { hint: 'give one, e.g. km clone demo worker --count 3 (worker-1 … worker-3)' });
  return Array.from({ length: count }, (_, i) => `${alias}-${i + 1}`);
}
