/** Wall-clock times in messages, in the operator's time zone (SPEC §0.3). Pure. */
import { isUtcName } from '../schedule-grammar/index.ts';

function parts(ms: number, timeZone: string): Record<string, string> {
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  });
  const out: Record<string, string> = {};
  for (const p of fmt.formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

/** `2027-03-03 09:12` */
export function localMinute(ms: number, timeZone: string): string {
  const p = parts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function zoneName(ms: number, timeZone: string): string {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
  let fallback = timeZone;
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value;
    if (name && !/^(GMT|UTC)[+-]/.test(name)) return name;
    if (name) fallback = name;
  }
  return fallback;
}

/** `2027-03-03 19:15 CET` */
export function localMinuteZone(ms: number, timeZone: string): string {
  return `${localMinute(ms, timeZone)} ${zoneName(ms, timeZone)}`;
}

/** A valid IANA zone or UTC. */
export function safeTimeZone(tz: string | undefined): string {
  if (!tz || isUtcName(tz)) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    return 'UTC';
  }
}
