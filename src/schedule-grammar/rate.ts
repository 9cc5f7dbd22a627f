/**
 * Fixed intervals as `rate(N unit)`. EventBridge's rules: units minute(s), hour(s), day(s);
 * the singular with 1 (`rate(1 hour)`), the plural otherwise (`rate(5 minutes)`). km also
 * has `second(s)` for short local schedules, which EventBridge cannot run.
 */

const UNITS = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
] as const;

/** The largest unit that divides the interval: 5400 s → `rate(90 minutes)`, 86400 s → `rate(1 day)`. */
export function renderRate(seconds: number): string {
  for (const [unit, size] of UNITS) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return `rate(${n} ${unit}${n === 1 ? '' : 's'})`;
    }
  }
  throw new Error(`interval of ${seconds} s is not a whole number of seconds`);
}

/** True when EventBridge can run the interval (whole minutes). */
export const awsCanRate = (seconds: number): boolean => seconds % 60 === 0;

/**
 * Parses `rate(N unit)` strictly by EventBridge's rules; `allowSeconds` also accepts
 * `second(s)` (km's own expressions).
 */
export function parseRate(text: string, options: { allowSeconds?: boolean } = {}): { ok: true; seconds: number } | { ok: false; message: string } {
  const m = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/.exec(text.trim());
  const hint = 'e.g. rate(1 hour), rate(5 minutes), rate(2 days)';
  if (!m) return { ok: false, message: `"${text}" is not a rate expression; ${hint}` };
  const n = Number(m[1]);
  const word = m[2] as string;
  const singular = word.endsWith('s') ? word.slice(0, -1) : word;
  const entry = UNITS.find(([u]) => u === singular);
  if (!entry || (singular === 'second' && !options.allowSeconds)) {
    return { ok: false, message: `"${text}": the unit must be minute(s), hour(s) or day(s)` };
  }
  if (!Number.isSafeInteger(n) || n < 1) return { ok: false, message: `"${text}": the value must be a whole number of at least 1` };
  if (n === 1 && word !== singular) return { ok: false, message: `"${text}": with 1 use the singular, rate(1 ${singular})` };
  if (n > 1 && word === singular) return { ok: false, message: `"${text}": with ${n} use the plural, rate(${n} ${singular}s)` };
  return { ok: true, seconds: n * entry[1] };
}
