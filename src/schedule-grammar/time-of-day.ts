/** Times of day: `9am`, `9:30pm`, `21:30`, `21:30:15`, `noon`, `midnight`. */

export interface TimeOfDay {
  hour: number;
  minute: number;
  second: number;
}

/** Regex source for a time of day (parse the captured text with `parseTimeOfDay`). */
export const TIME_SOURCE =
  String.raw`(?:noon|midnight|\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)|\d{1,2}:\d{2}(?::\d{2})?|\d{1,2})`;

export function parseTimeOfDay(text: string): { ok: true; time: TimeOfDay } | { ok: false; message: string } {
  const t = text.trim().toLowerCase();
  if (t === 'noon') return { ok: true, time: { hour: 12, minute: 0, second: 0 } };
  if (t === 'midnight') return { ok: true, time: { hour: 0, minute: 0, second: 0 } };
  const invalid = { ok: false as const, message: `"${text}" is not a valid time of day` };
  const ampm = /^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?$/.exec(t);
  if (ampm) {
    const h = Number(ampm[1]);
    const m = Number(ampm[2] ?? '0');
    if (h < 1 || h > 12 || m > 59) return invalid;
    const hour = (h % 12) + (ampm[3] === 'p' ? 12 : 0);
    return { ok: true, time: { hour, minute: m, second: 0 } };
  }
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (clock) {
    const [h, m, s] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? '0')];
    if (h > 23 || m > 59 || s > 59) return invalid;
    return { ok: true, time: { hour: h, minute: m, second: s } };
  }
  if (/^\d{1,2}$/.test(t)) {
    const h = Number(t);
    const forms = h >= 1 && h <= 12 ? `${h}am, ${h}pm or ${String(h).padStart(2, '0')}:00` : h <= 23 ? `${h}:00` : 'a time such as 9am or 21:30';
    return { ok: false, message: `"${text}" is ambiguous as a time; write ${forms}` };
  }
  return invalid;
}
