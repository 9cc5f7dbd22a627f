/**
 * The leaf keys of the operator config, derived from the schema: their dotted paths, the
 * `KM_*` variable that sets each, and how a text value (env, `--set`, a prompt answer)
 * becomes a typed value. Lists are comma-separated (`a,b`), maps `name=value,…`; YAML flow
 * syntax (`[a, b]`, `{a: 1}`) works for both and is the only form for lists of objects.
 */
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { suggest } from '../core/diagnostics.ts';
import { OperatorConfigSchema, SECRET_PATHS } from './schema.ts';

export type KeyKind = 'string' | 'number' | 'boolean' | 'list' | 'map' | 'yaml';

export interface ConfigKey {
  /** e.g. ['gateway', 'upstream_dns'] */
  path: string[];
  dotted: string;
  kind: KeyKind;
  /** e.g. KM_GATEWAY_UPSTREAM_DNS */
  env: string;
  description: string | undefined;
  secret: boolean;
}

/** Env variables that are not config keys. */
export const RESERVED_ENV = new Set(['KM_HOME', 'KM_CONFIG']);

type AnyZod = z.ZodType;
interface Def {
  type: string;
  innerType?: AnyZod;
  in?: AnyZod;
  shape?: Record<string, AnyZod>;
  element?: AnyZod;
  valueType?: AnyZod;
  options?: AnyZod[];
}
const defOf = (s: AnyZod): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strips optional/default/prefault/pipe wrappers. */
function unwrap(s: AnyZod): AnyZod {
  for (;;) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'prefault' || d.type === 'nullable') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

function kindOf(s: AnyZod): KeyKind {
  const d = defOf(unwrap(s));
  switch (d.type) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return d.element && defOf(unwrap(d.element)).type === 'object' ? 'yaml' : 'list';
    case 'record':
      return 'map';
    case 'union':
      return (d.options ?? []).every((o) => ['string', 'number'].includes(defOf(unwrap(o)).type)) ? 'string' : 'yaml';
    default:
      return 'string';
  }
}

const descriptionOf = (s: AnyZod): string | undefined => (s as unknown as { description?: string }).description;

/** Every leaf key of the schema (objects are walked; maps and lists are leaves). */
export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  const walk = (schema: AnyZod, path: string[]): void => {
    const inner = unwrap(schema);
    const d = defOf(inner);
    if (d.type === 'object' && d.shape) {
      for (const [k, v] of Object.entries(d.shape)) walk(v, [...path, k]);
      return;
    }
    const dotted = path.join('.');
    out.push({
      path,
      dotted,
      kind: kindOf(schema),
      env: `KM_${path.join('_').toUpperCase()}`,
      description: descriptionOf(schema) ?? descriptionOf(inner),
      secret: SECRET_PATHS.includes(dotted),
    });
  };
  walk(OperatorConfigSchema, []);
  return out;
}

/**
 * Finds the key for a dotted name as typed after `--set`. Inside a map the rest of the name
 * is the entry's key (`gateway.host_overrides.api.example.com`).
 */
export function findKey(keys: readonly ConfigKey[], dotted: string): { key: ConfigKey; path: string[]; entry: boolean } | { error: string } {
  const exact = keys.find((k) => k.dotted === dotted);
  if (exact) return { key: exact, path: exact.path, entry: false };
  const map = keys.find((k) => k.kind === 'map' && dotted.startsWith(`${k.dotted}.`));
  if (map) return { key: map, path: [...map.path, dotted.slice(map.dotted.length + 1)], entry: true };
  const near = suggest(dotted, keys.map((k) => k.dotted), 3);
  const section = keys.some((k) => k.dotted.startsWith(`${dotted}.`));
  const why = section ? `"${dotted}" is a section; set one of its keys, e.g. ${keys.find((k) => k.dotted.startsWith(`${dotted}.`))?.dotted}` : `unknown config key "${dotted}"`;
  return { error: near && !section ? `${why}; did you mean "${near}"?` : why };
}

/** A text value as the key's type; `{error}` names what was expected. */
export function coerceText(kind: KeyKind, text: string): { value: unknown } | { error: string } {
  const t = text.trim();
  const flow = (): { value: unknown } | { error: string } => {
    try {
      return { value: parseYaml(t) as unknown };
    } catch (e) {
      return { error: `could not read ${JSON.stringify(text)} as YAML: ${(e as Error).message.split('\n')[0]}` };
    }
  };
  switch (kind) {
    case 'string':
      return { value: text };
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(t) ? { value: Number(t) } : { error: `expected a number, got ${JSON.stringify(text)}` };
    case 'boolean': {
      const v = t.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return { value: true };
      if (['false', 'no', 'off', '0'].includes(v)) return { value: false };
      return { error: `expected true or false, got ${JSON.stringify(text)}` };
    }
    case 'list':
      if (t.startsWith('[')) return flow();
      return { value: t === '' ? [] : t.split(',').map((s) => s.trim()).filter((s) => s !== '') };
    case 'map': {
      if (t.startsWith('{')) return flow();
      const out: Record<string, string> = {};
      for (const part of t.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        const eq = part.indexOf('=');
        if (eq <= 0) return { error: `expected name=value pairs separated by commas, got ${JSON.stringify(part)}` };
        out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
      return { value: out };
    }
    case 'yaml':
      return flow();
  }
}
