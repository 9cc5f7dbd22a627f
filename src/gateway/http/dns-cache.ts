/**
 * The gateway's own lookups through the operator's `gateway.upstream_dns` resolvers, kept for
 * their TTL (capped at 300 s, as the DNS filter caps what it hands the sandbox, SPEC §3.3): a
 * new connection to a host the sandbox reached a moment ago does not wait for another DNS
 * round trip, and concurrent lookups of one name share one query. Failures, empty answers and
 * TTL 0 are not kept. The sandbox's DNS filter, which asks the same resolvers, hands in what it
 * forwarded (`seed`): a connection captured after the sandbox's own lookup is dialled at the
 * addresses the sandbox was given, without a second query. (The host resolver used without
 * `upstream_dns` has its own cache, if any.)
 */
import type { Clock } from '../../core/clock.ts';

export interface TtlAnswer {
  address: string;
  /** Seconds. */
  ttl: number;
}

export interface CachingResolveOptions {
  /** Longest time an answer is kept (seconds; default 300). */
  maxTtlS?: number;
  /** Names kept at most (default 256, ~50 KiB): when full, expired answers go, then the oldest. */
  maxNames?: number;
}

export type Resolve = (name: string) => Promise<string[]>;

export interface DnsCache {
  resolve: Resolve;
  /** Keeps answers obtained elsewhere (the DNS filter's) as if `lookup` had given them. */
  seed(name: string, answers: readonly TtlAnswer[]): void;
}

export function createDnsCache(lookup: (name: string) => Promise<TtlAnswer[]>, clock: Clock, opts: CachingResolveOptions = {}): DnsCache {
  const maxTtlMs = (opts.maxTtlS ?? 300) * 1000;
  const maxNames = opts.maxNames ?? 256;
  const kept = new Map<string, { addresses: string[]; expiresMs: number }>();
  const asking = new Map<string, Promise<string[]>>();

  const keyOf = (name: string): string => name.toLowerCase().replace(/\.$/, '');
  const keep = (key: string, answers: readonly TtlAnswer[]): string[] => {
    const addresses = answers.map((a) => a.address);
    const ttlMs = Math.min(maxTtlMs, ...answers.map((a) => Math.max(0, a.ttl) * 1000));
    if (addresses.length > 0 && ttlMs > 0) {
      const now = clock.now();
      kept.delete(key);
      kept.set(key, { addresses, expiresMs: now + ttlMs });
      if (kept.size > maxNames) {
        for (const [k, v] of kept) if (v.expiresMs <= now) kept.delete(k);
        if (kept.size > maxNames) kept.delete(kept.keys().next().value!);
      }
    }
    return addresses;
  };

  const ask = (key: string): Promise<string[]> => {
    const p = lookup(key).then(
      (answers) => {
        asking.delete(key);
        return keep(key, answers);
      },
      (err: unknown) => {
        asking.delete(key);
        throw err;
      },
    );
    asking.set(key, p);
    return p;
  };

  return {
    resolve: (name) => {
      const key = keyOf(name);
      const hit = kept.get(key);
      if (hit) {
        if (clock.now() < hit.expiresMs) return Promise.resolve([...hit.addresses]);
        kept.delete(key);
      }
      return asking.get(key) ?? ask(key);
    },
    seed: (name, answers) => void keep(keyOf(name), answers),
  };
}
