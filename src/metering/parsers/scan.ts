/**
 * Substring search over the bytes the gateway relays (the usage gate's key search): the
 * km-scan addon (native/km-scan.c, a vector first/last-byte filter) when ./setup built it,
 * else Buffer#indexOf. Both give the same positions; `KM_METER_SCAN=js` forces the fallback.
 * The addon also answers the SSE gate's per-chunk questions in one call (`gateScan`).
 */
import { loadAddon } from '../../native/index.ts';

export type IndexOf = (haystack: Buffer, needle: Buffer, from: number) => number;

/**
 * The SSE gate's per-chunk scan in one native call (native/km-scan.c `gateScan`): returns the
 * first position of `key` in `chunk`; out[0] = end of the last boundary wholly in `chunk` or
 * -1, out[1] = 1 when the chunk showed the stream's first CR (the boundary then counts the CR
 * forms), out[2] = whether `key` starts in `prev[prevFrom..]` and ends in `chunk` (1/0), or -1
 * when `prev` is too short from `prevFrom` to tell.
 */
export type GateScan = (chunk: Buffer, key: Buffer, prev: Buffer | null, prevFrom: number, withCr: number, out: Int32Array) => number;

interface ScanAddon {
  indexOf: IndexOf;
  gateScan: GateScan;
  isa: string;
}

export const jsIndexOf: IndexOf = (haystack, needle, from) => haystack.indexOf(needle, from);

/** The addon's search, or why there is none (never compiles: this is a hot path). */
export function nativeIndexOf(): { indexOf: IndexOf; gateScan: GateScan; isa: string } | { reason: string } {
  const r = loadAddon<ScanAddon>('km-scan', false);
  return 'addon' in r ? { indexOf: r.addon.indexOf, gateScan: r.addon.gateScan, isa: r.addon.isa } : r;
}

const chosen = process.env.KM_METER_SCAN === 'js' ? ({ reason: 'KM_METER_SCAN=js' } as const) : nativeIndexOf();

/** The search the gates use. */
export const indexOf: IndexOf = 'indexOf' in chosen ? chosen.indexOf : jsIndexOf;
/** The SSE gate's one-call scan, when the addon is built (else the gate asks its questions one by one). */
export const gateScan: GateScan | null = 'gateScan' in chosen && typeof chosen.gateScan === 'function' ? chosen.gateScan : null;
