/**
 * zod issues → located diagnostics with messages a user can act on: unknown keys with a
 * did-you-mean, enum values with the allowed set, type mismatches naming what was found.
 */
import type { z } from 'zod';
import { suggest, type Diagnostic, type PathSegment } from '../core/diagnostics.ts';
import type { Locator } from './locate.ts';
import { describeValue } from './schema-fields.ts';

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  innerType?: AnySchema;
  element?: AnySchema;
  valueType?: AnySchema;
  options?: AnySchema[];
  in?: AnySchema;
}

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps optional/default/prefault/nullable wrappers. */
function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const d = defOf(cur);
    if (d.innerType) cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else break;
  }
  return cur;
}

/** The schema at `path` (list indexes and record keys step into items/values). */
function schemaAt(root: AnySchema, path: readonly PathSegment[]): AnySchema | undefined {
  let cur: AnySchema | undefined = unwrap(root);
  for (const seg of path) {
    if (!cur) return undefined;
    const d = defOf(cur);
    if (d.type === 'object') cur = d.shape && Object.hasOwn(d.shape, String(seg)) ? d.shape[String(seg)] : undefined;
    else if (d.type === 'array') cur = d.element;
    else if (d.type === 'record') cur = d.valueType;
    else if (d.type === 'union') cur = d.options?.find((o) => defOf(unwrap(o)).type === 'object');
    else return undefined;
    cur = cur ? unwrap(cur) : undefined;
  }
  return cur;
}

export function knownKeysAt(root: AnySchema, path: readonly PathSegment[]): string[] {
  const s = schemaAt(root, path);
  const d = s ? defOf(s) : undefined;
  return d?.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, String(seg))) return undefined;
    cur = (cur as Record<string, unknown>)[String(seg)];
  }
  return cur;
}

function messageFor(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      if (input === undefined) return 'required';
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describeValue(input)}`;
    }
    case 'invalid_value': {
      if (!issue.message.startsWith('Invalid option') && !issue.message.startsWith('Invalid input')) return issue.message;
      const allowed = issue.values.map((v) => String(v));
      const shown = typeof input === 'string' ? JSON.stringify(input) : describeValue(input);
      const hint = typeof input === 'string' ? suggest(input, allowed) : undefined;
      return `invalid value ${shown}; expected one of ${allowed.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`;
    }
    case 'invalid_key':
      return issue.issues[0]?.message ?? 'invalid key';
    case 'invalid_union':
      return `expected a profile name or a list of names, got ${describeValue(input)}`;
    case 'too_small':
      if (issue.origin === 'array' && issue.message.startsWith('Too small')) return `needs at least ${String(issue.minimum)} item(s)`;
      return issue.message.startsWith('Too small') ? `must be at least ${String(issue.minimum)}` : issue.message;
    case 'too_big':
      return issue.message.startsWith('Too big') ? `must be at most ${String(issue.maximum)}` : issue.message;
    default:
      return issue.message;
  }
}

/** Converts a failed parse into diagnostics located through `locator`. */
export function issuesToDiagnostics(root: AnySchema, issues: readonly z.core.$ZodIssue[], value: unknown, locator: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(root, path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        const msg = `unknown key ${JSON.stringify(key)}${hint ? `; did you mean "${hint}"?` : ''}`;
        out.push(locator.diag([...path, key], msg, { atKey: true }));
      }
      continue;
    }
    out.push(locator.diag(path, messageFor(issue, valueAt(value, path)), { atKey: issue.code === 'invalid_key' }));
  }
  return out;
}
