/**
 * One duration parser for profiles, flags, `extend` and schedules (SPEC §0.3).
 * Canonical grammar: one or more `<integer><unit>` groups in descending unit order,
 * units d (24h), h, m, s. Flags also accept spelled units, normalised first.
 */
import { KmError } from './errors.ts';

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
type Unit = keyof typeof UNIT_SECONDS;
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

const SPELLED: ReadonlyArray<[RegExp, Unit]> = [
  [/^(days?)$/, 'd'],
  [/^(hr|hrs|hours?)$/, 'h'],
  [/^(mins?|minutes?)$/, 'm'],
  [/^(secs?|seconds?)$/, 's'],
];

export const DURATION_HINT = 'use forms like 45m, 2h30m, 1d';

export interface ParseDurationOptions {
  /** Allow the literal "0" (TTL, idle timeout). */
  allowZero?: boolean;
  /** Accept spelled units such as "2 hours" or "90mins" (CLI flags). */
  spelled?: boolean;
}

/** Returns seconds, or a message describing why the text is not a duration. */
export function tryParseDuration(
  text: string,
  options: ParseDurationOptions = {},
): { ok: true; seconds: number } | { ok: false; message: string } {
  const bad = { ok: false as const, message: `invalid duration "${text}": ${DURATION_HINT}` };
  let s = text.trim();
  if (s === '0') {
    return options.allowZero ? { ok: true, seconds: 0 } : { ok: false, message: `invalid duration "${text}": 0 is not allowed here` };
  }
  if (options.spelled) s = normaliseSpelled(s) ?? s;
  const re = /(\d+)([dhms])/gy;
  let seconds = 0;
  let lastRank = -1;
  let consumed = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const rank = ORDER.indexOf(m[2] as Unit);
    if (rank <= lastRank) return bad;
    lastRank = rank;
    seconds += Number(m[1]) * UNIT_SECONDS[m[2] as Unit];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== s.length) return bad;
  if (!Number.isSafeInteger(seconds)) return bad;
  if (seconds === 0 && !options.allowZero) return { ok: false, message: `invalid duration "${text}": must be longer than 0s` };
  return { ok: true, seconds };
}

/** Parses or throws a usage error (for flags). */
export function parseDuration(text: string, options: ParseDurationOptions = {}): number {
  const r = tryParseDuration(text, options);
  if (!r.ok) throw new KmError('usage', r.message);
  return r.seconds;
}

function normaliseSpelled(s: string): string | undefined {
  const parts = s.toLowerCase().match(/\d+\s*[a-z]+/g);
  if (!parts || parts.join('').replace(/\s+/g, '') !== s.toLowerCase().replace(/\s+/g, '')) return undefined;
  let out = '';
  for (const p of parts) {
    const m = /^(\d+)\s*([a-z]+)$/.exec(p);
    if (!m) return undefined;
    const word = m[2] as string;
    const unit = (['d', 'h', 'm', 's'] as string[]).includes(word)
      ? (word as Unit)
      : SPELLED.find(([re]) => re.test(word))?.[1];
    if (!unit) return undefined;
    out += `${m[1]}${unit}`;
  }
  return out;
}

/** Canonical text for seconds: `1d04h`-style compact form used in profiles (`1d4h`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  let rest = Math.floor(seconds);
  let out = '';
  for (const u of ORDER) {
    const n = Math.floor(rest / UNIT_SECONDS[u]);
    if (n > 0) out += `${n}${u}`;
    rest -= n * UNIT_SECONDS[u];
  }
  return out;
}

/**
 * Human "remaining" form of SPEC §8.5: `1d04h`, `2h05m`, `3m10s`, `45s`.
 * Two most significant units, the second zero-padded.
 */
export function formatRemaining(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${pad(h)}h`;
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}
