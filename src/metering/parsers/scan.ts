/**
 * Substring search over the bytes the gateway relays (the usage gate's key search): the
 * km-scan addon (native/km-scan.c, a vector first/last-byte filter) when ./setup built it,
 * else Buffer#indexOf. Both give the same positions; `KM_METER_SCAN=js` forces the fallback.
 */
import { loadAddon } from '../../native/index.ts';

export type IndexOf = (haystack: Buffer, needle: Buffer, from: number) => number;

export const jsIndexOf: IndexOf = (haystack, needle, from) => haystack.indexOf(needle, from);

/** The addon's search, or why there is none (never compiles: this is a hot path). */
export function nativeIndexOf(): { indexOf: IndexOf; isa: string } | { reason: string } {
  const r = loadAddon<{ indexOf: IndexOf; isa: string }>('km-scan', false);
  return 'addon' in r ? { indexOf: r.addon.indexOf, isa: r.addon.isa } : r;
}

function pick(): IndexOf {
  if (process.env.KM_METER_SCAN === 'js') return jsIndexOf;
  const n = nativeIndexOf();
  return 'indexOf' in n ? n.indexOf : jsIndexOf;
}

/** The search the gates use. */
export const indexOf: IndexOf = pick();
