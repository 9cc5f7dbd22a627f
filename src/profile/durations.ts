/** Seconds of a duration field of a parsed profile (already validated; "0" → 0). */
import { tryParseDuration } from '../core/duration.ts';

export function durationSeconds(text: string): number {
  const r = tryParseDuration(text, { allowZero: true });
  if (!r.ok) throw new Error(`profile duration ${JSON.stringify(text)} was not validated: ${r.message}`);
  return r.seconds;
}
