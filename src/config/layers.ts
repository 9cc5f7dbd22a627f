/**
 * Config layers: each is a plain object plus a way to say where a path came from, so a
 * problem found in the merged result points at the file (line:col) or `KM_*` variable that
 * wrote it.
 */
import { formatDiagnostic, type Diagnostic, type PathSegment } from '../core/diagnostics.ts';
import { loadYaml, type YamlSource } from '../core/yaml-doc.ts';
import { coerceText, RESERVED_ENV, type ConfigKey } from './keys.ts';
import { suggest } from '../core/diagnostics.ts';

export type Obj = Record<string, unknown>;

export interface Layer {
  /** The file path, or `environment`. */
  name: string;
  value: Obj;
  /** Position of the value (or key) at `path` in this layer. */
  where(path: readonly PathSegment[], atKey: boolean, message: string): Diagnostic;
}

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Drops `key:` entries with no value (YAML null): an empty key means "not set". */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v;
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
  return out;
}

/** Deep merge of objects; lists and scalars of later layers replace earlier ones. */
export function deepMerge(...layers: readonly Obj[]): Obj {
  const out: Obj = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      out[k] = isObj(prev) && isObj(v) ? deepMerge(prev, v) : v;
    }
  }
  return out;
}

/** How many leading segments of `path` exist in `value`. */
export function depthIn(value: unknown, path: readonly PathSegment[]): number {
  let cur = value;
  let n = 0;
  for (const seg of path) {
    if (isObj(cur) && Object.hasOwn(cur, String(seg))) cur = cur[String(seg)];
    else if (Array.isArray(cur) && typeof seg === 'number' && seg < cur.length) cur = cur[seg];
    else break;
    n++;
  }
  return n;
}

export type FileLayerResult = { ok: true; layer: Layer; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[] };

export function fileLayer(file: string, bytes: Uint8Array): FileLayerResult {
  const text = new TextDecoder().decode(bytes);
  // A file with nothing but comments (or nothing at all) sets nothing.
  if (text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) {
    const pos = (path: readonly PathSegment[], _k: boolean, message: string): Diagnostic => ({ file, line: 1, col: 1, path: path.join('.'), message, severity: 'error' });
    return { ok: true, layer: { name: file, value: {}, where: pos }, warnings: [] };
  }
  const r = loadYaml(file, bytes, { requireMapping: false });
  if (!r.ok) return r;
  const value = dropNulls(r.source.value ?? {});
  if (!isObj(value)) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '', message: 'the config file must be a mapping of keys to values', severity: 'error' }] };
  }
  return { ok: true, layer: { name: file, value, where: locator(r.source) }, warnings: r.warnings };
}

function locator(source: YamlSource): Layer['where'] {
  return (path, atKey, message) => {
    const pos = atKey ? source.locateKey(path) : source.locate(path);
    return { file: source.file, line: pos.line, col: pos.col, path: pathText(path), message, severity: 'error' };
  };
}

const pathText = (path: readonly PathSegment[]): string => path.map(String).join('.');

/** Diagnostics for variables carry the variable as `file` and no position. */
export const envDiagnostic = (variable: string, path: string, message: string, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({
  file: `$${variable}`,
  line: 0,
  col: 0,
  path,
  message,
  severity,
});

/** `file:line:col: path: message`, or `$KM_X: path: message` for variables. */
export function formatConfigDiagnostic(d: Diagnostic): string {
  if (d.line > 0) return formatDiagnostic(d);
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return `${d.file}: ${d.path === '' ? '' : `${d.path}: `}${sev}${d.message}`;
}

/** The `KM_*` layer: typed values, errors naming the variable, warnings for unknown names. */
export function envLayer(env: NodeJS.ProcessEnv, keys: readonly ConfigKey[]): { layer: Layer; errors: Diagnostic[]; warnings: Diagnostic[] } {
  const byEnv = new Map(keys.map((k) => [k.env, k]));
  const value: Obj = {};
  const origins: Array<{ path: string[]; variable: string }> = [];
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const [name, text] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith('KM_') || RESERVED_ENV.has(name) || text === undefined || text === '') continue;
    const key = byEnv.get(name);
    if (!key) {
      // Other KM_ variables exist (inside sandboxes, for tools); only likely typos are reported.
      const near = suggest(name, byEnv.keys(), 3);
      if (near) warnings.push(envDiagnostic(name, '', `not a km setting; ignored (did you mean ${near}?)`, 'warning'));
      continue;
    }
    const c = coerceText(key.kind, text);
    if ('error' in c) {
      errors.push(envDiagnostic(name, key.dotted, c.error));
      continue;
    }
    setPath(value, key.path, c.value);
    origins.push({ path: key.path, variable: name });
  }
  const where: Layer['where'] = (path, _atKey, message) => {
    const common = (o: { path: string[] }) => o.path.findIndex((s, i) => i >= path.length || String(path[i]) !== s);
    const score = (o: { path: string[] }) => (common(o) < 0 ? o.path.length : common(o));
    const hit = origins.reduce<(typeof origins)[number] | undefined>((best, o) => (score(o) > 0 && (!best || score(o) > score(best)) ? o : best), undefined);
    return envDiagnostic(hit?.variable ?? 'KM_*', pathText(path), message);
  };
  return { layer: { name: 'environment', value, where }, errors, warnings };
}

export function setPath(target: Obj, path: readonly string[], v: unknown): void {
  let cur = target;
  path.forEach((seg, i) => {
    if (i === path.length - 1) cur[seg] = v;
    else {
      if (!isObj(cur[seg])) cur[seg] = {};
      cur = cur[seg] as Obj;
    }
  });
}
