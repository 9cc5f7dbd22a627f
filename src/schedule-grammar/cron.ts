/**
 * Cron expressions: the 5-field form (`M H DOM MON DOW`, names allowed, DOW 0–7 with 0 and 7
 * = Sunday) and EventBridge's 6-field `cron(M H DOM MON DOW YEAR)` (exactly one of DOM/DOW
 * is `?`, DOW 1–7 with 1 = Sunday). Both parse into value sets; both are rendered back from
 * those sets, so every expression km stores or sends has one normalised spelling.
 */

export interface CronFields {
  minutes: readonly number[];
  hours: readonly number[];
  /** Days of month 1–31. */
  days: readonly number[];
  months: readonly number[];
  /** Days of week, 0 = Sunday … 6 = Saturday. */
  weekdays: readonly number[];
  /** Whether the day-of-month field restricts (not `*`/`?`); at most one of the two does. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

export type CronParse = { ok: true; fields: CronFields } | { ok: false; message: string };

interface FieldDef {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
export const DOW_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const MINUTE: FieldDef = { label: 'minute', min: 0, max: 59 };
const HOUR: FieldDef = { label: 'hour', min: 0, max: 23 };
const DOM: FieldDef = { label: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldDef = { label: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
/** 5-field DOW: 0–7, 7 folds to 0. */
const DOW5: FieldDef = { label: 'day-of-week', min: 0, max: 7, names: DOW_NAMES, nameBase: 0 };
/** AWS DOW: 1–7, 1 = Sunday. */
const DOW_AWS: FieldDef = { label: 'day-of-week', min: 1, max: 7, names: DOW_NAMES, nameBase: 1 };

class FieldError extends Error {}

function parseValue(text: string, def: FieldDef): number {
  const lower = text.toLowerCase();
  const idx = def.names ? def.names.indexOf(lower) : -1;
  if (idx >= 0) return idx + (def.nameBase ?? 0);
  if (!/^\d+$/.test(text)) {
    if (/^[lw#]|[lw#]$|#/i.test(text)) throw new FieldError(`${def.label} "${text}": L, W and # are not supported; list the days instead`);
    throw new FieldError(`${def.label} "${text}" is not a number${def.names ? ' or name' : ''}`);
  }
  const n = Number(text);
  if (n < def.min || n > def.max) throw new FieldError(`${def.label} ${n} is out of range ${def.min}-${def.max}`);
  return n;
}

function parseItem(item: string, def: FieldDef, out: Set<number>): void {
  const [rangePart, stepPart, extra] = item.split('/');
  if (extra !== undefined || rangePart === undefined || rangePart === '') throw new FieldError(`${def.label} "${item}" is not valid`);
  let step = 1;
  if (stepPart !== undefined) {
    if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1) throw new FieldError(`${def.label} step "${stepPart}" must be a positive number`);
    step = Number(stepPart);
  }
  let lo: number;
  let hi: number;
  if (rangePart === '*') {
    lo = def.min;
    hi = def.max;
  } else if (rangePart.includes('-')) {
    const [a, b, more] = rangePart.split('-');
    if (more !== undefined || a === undefined || b === undefined) throw new FieldError(`${def.label} "${item}" is not valid`);
    lo = parseValue(a, def);
    hi = parseValue(b, def);
    if (lo > hi) throw new FieldError(`${def.label} range "${rangePart}" runs backwards`);
  } else {
    lo = parseValue(rangePart, def);
    hi = stepPart === undefined ? lo : def.max;
  }
  for (let v = lo; v <= hi; v += step) out.add(v);
}

function parseField(text: string, def: FieldDef): number[] {
  if (text === '') throw new FieldError(`${def.label} is empty`);
  const out = new Set<number>();
  for (const item of text.split(',')) parseItem(item, def, out);
  return [...out].sort((a, b) => a - b);
}

const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
const isFull = (values: readonly number[], lo: number, hi: number): boolean => values.length === hi - lo + 1;

function finish(minute: string, hour: string, dom: string, month: string, dow: string, dowDef: FieldDef): CronFields {
  const days = dom === '?' ? range(1, 31) : parseField(dom, DOM);
  let weekdays = dow === '?' ? range(0, 6) : parseField(dow, dowDef);
  weekdays = [...new Set(weekdays.map((d) => (dowDef === DOW_AWS ? d - 1 : d % 7)))].sort((a, b) => a - b);
  const fields: CronFields = {
    minutes: parseField(minute, MINUTE),
    hours: parseField(hour, HOUR),
    days,
    months: parseField(month, MONTH),
    weekdays,
    domRestricted: !isFull(days, 1, 31),
    dowRestricted: !isFull(weekdays, 0, 6),
  };
  if (fields.domRestricted && fields.dowRestricted) {
    throw new FieldError('both day-of-month and day-of-week are restricted, which EventBridge cannot express; restrict one and use * (or ?) for the other');
  }
  return fields;
}

/** `M H DOM MON DOW`. `?` is read as `*` in the day fields. */
export function parseCron5(expr: string): CronParse {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) {
    const aws = parts.length === 6 ? '; for EventBridge syntax write cron(M H DOM MON DOW YEAR)' : '';
    return { ok: false, message: `cron "${expr}" has ${parts.length} fields; expected 5 (minute hour day-of-month month day-of-week)${aws}` };
  }
  const [m, h, dom, mon, dow] = parts as [string, string, string, string, string];
  try {
    return { ok: true, fields: finish(m, h, dom, mon, dow, DOW5) };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, message: `cron "${expr}": ${e.message}` };
    throw e;
  }
}

/** The inside of `cron(…)`: `M H DOM MON DOW YEAR`. */
export function parseAwsCronBody(body: string): CronParse {
  const shown = `cron(${body})`;
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    return { ok: false, message: `${shown} has ${parts.length} fields; EventBridge cron has 6 (minute hour day-of-month month day-of-week year)` };
  }
  const [m, h, dom, mon, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return { ok: false, message: `${shown}: exactly one of day-of-month and day-of-week must be "?", e.g. cron(0 9 ? * MON-FRI *) or cron(0 9 1 * ? *)` };
  }
  if (year !== '*') {
    return { ok: false, message: `${shown}: only "*" is supported in the year field; for a single date use at(YYYY-MM-DDTHH:MM:SS)` };
  }
  if (m.includes('?') || h.includes('?') || mon.includes('?')) return { ok: false, message: `${shown}: "?" is only allowed in day-of-month or day-of-week` };
  try {
    return { ok: true, fields: finish(m, h, dom, mon, dow, DOW_AWS) };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, message: `${shown}: ${e.message}` };
    throw e;
  }
}

/** Comma list with runs of three or more as ranges: [1,2,3,5] → "1-3,5". */
function renderRuns(values: readonly number[], label: (n: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && (values[j + 1] as number) === (values[j] as number) + 1) j++;
    const a = values[i] as number;
    const b = values[j] as number;
    if (j - i >= 2) out.push(`${label(a)}-${label(b)}`);
    else for (let k = i; k <= j; k++) out.push(label(values[k] as number));
    i = j + 1;
  }
  return out.join(',');
}

/** A step progression reaching the top of the field: {5,20,35,50} in 0–59 → start 5, step 15 (two values only from the bottom: {0,30} → step 30). */
function progression(values: readonly number[], min: number, max: number): { start: number; step: number } | undefined {
  const start = values[0] as number;
  if (values.length < 2 || (values.length === 2 && start !== min)) return undefined;
  const step = (values[1] as number) - start;
  if (step < 2) return undefined;
  for (let i = 0; i < values.length; i++) if (values[i] !== start + i * step) return undefined;
  return (values[values.length - 1] as number) + step > max ? { start, step } : undefined;
}

function render5Field(values: readonly number[], lo: number, hi: number): string {
  if (isFull(values, lo, hi)) return '*';
  const p = progression(values, lo, hi);
  if (p) return p.start === lo ? `*/${p.step}` : `${p.start}-${hi}/${p.step}`;
  return renderRuns(values, String);
}

function renderAwsField(values: readonly number[], lo: number, hi: number): string {
  if (isFull(values, lo, hi)) return '*';
  const p = progression(values, lo, hi);
  if (p) return `${p.start}/${p.step}`;
  return renderRuns(values, String);
}

/** Normalised 5-field text, e.g. `45 19 * * 1-5`. */
export function renderCron5(f: CronFields): string {
  return [
    render5Field(f.minutes, 0, 59),
    render5Field(f.hours, 0, 23),
    f.domRestricted ? render5Field(f.days, 1, 31) : '*',
    render5Field(f.months, 1, 12),
    f.dowRestricted ? renderRuns(f.weekdays, String) : '*',
  ].join(' ');
}

/** EventBridge form, e.g. `cron(45 19 ? * MON-FRI *)`. */
export function renderAwsCron(f: CronFields): string {
  const dom = f.dowRestricted ? '?' : f.domRestricted ? renderAwsField(f.days, 1, 31) : '*';
  const dow = f.dowRestricted ? renderRuns(f.weekdays, (d) => (DOW_NAMES[d] as string).toUpperCase()) : '?';
  return `cron(${renderAwsField(f.minutes, 0, 59)} ${renderAwsField(f.hours, 0, 23)} ${dom} ${renderAwsField(f.months, 1, 12)} ${dow} *)`;
}
