/**
 * Merging profile layers (SPEC §2.2–2.3) while remembering where every value came from,
 * so a diagnostic about an inherited value points at the file and line that wrote it.
 */
import { formatPath, type PathSegment } from '../core/diagnostics.ts';

export interface Origin {
  /** Index of the layer that wrote the value. */
  layer: number;
  /** Path of the value inside that layer's document. */
  path: PathSegment[];
}

/** Merged path (formatted) → origin. Maps point at the last layer that contributed to them. */
export type OriginMap = Map<string, Origin>;

export interface MergeLayer {
  value: Record<string, unknown>;
  /** Formatted paths tagged `!replace` in this layer. */
  replace: ReadonlySet<string>;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string equal for structurally equal values (map key order ignored). */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

function recordSubtree(origins: OriginMap, merged: PathSegment[], value: unknown, origin: Origin): void {
  origins.set(formatPath(merged), origin);
  if (Array.isArray(value)) {
    value.forEach((v, i) => recordSubtree(origins, [...merged, i], v, { layer: origin.layer, path: [...origin.path, i] }));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      recordSubtree(origins, [...merged, k], v, { layer: origin.layer, path: [...origin.path, k] });
    }
  }
}

function forgetSubtree(origins: OriginMap, merged: PathSegment[]): void {
  const key = formatPath(merged);
  for (const k of [...origins.keys()]) {
    if (k === key || k.startsWith(`${key}.`) || k.startsWith(`${key}[`)) origins.delete(k);
  }
}

const clone = <T>(v: T): T => structuredClone(v);

function mergeValue(acc: unknown, value: unknown, path: PathSegment[], layer: number, ctx: { replace: ReadonlySet<string>; origins: OriginMap }): unknown {
  const key = formatPath(path);
  const replaced = ctx.replace.has(key);
  if (!replaced && isPlainObject(acc) && isPlainObject(value)) {
    const out: Record<string, unknown> = { ...acc };
    for (const [k, v] of Object.entries(value)) {
      const prev = Object.hasOwn(acc, k) ? acc[k] : undefined;
      // defineProperty, not assignment: a "__proto__" key stays a plain (and later rejected) key
      Object.defineProperty(out, k, { value: mergeValue(prev, v, [...path, k], layer, ctx), enumerable: true, writable: true, configurable: true });
    }
    ctx.origins.set(key, { layer, path });
    return out;
  }
  if (!replaced && Array.isArray(acc) && Array.isArray(value)) {
    const out = [...acc];
    const seen = new Set(out.map(canonical));
    value.forEach((item, i) => {
      const key = canonical(item);
      if (seen.has(key)) return;
      seen.add(key);
      out.push(clone(item));
      recordSubtree(ctx.origins, [...path, out.length - 1], item, { layer, path: [...path, i] });
    });
    ctx.origins.set(key, { layer, path });
    return out;
  }
  if (acc !== null && typeof acc === 'object') forgetSubtree(ctx.origins, path);
  recordSubtree(ctx.origins, path, value, { layer, path });
  return clone(value);
}

/**
 * Folds layers left to right (earliest ancestor first, leaf last). Keys a layer must not
 * pass on (metadata.name, metadata.abstract, extends) are removed by the caller.
 */
export function mergeLayers(layers: readonly MergeLayer[]): { value: Record<string, unknown>; origins: OriginMap } {
  const origins: OriginMap = new Map();
  let acc: Record<string, unknown> = {};
  layers.forEach((l, i) => {
    acc = mergeValue(acc, l.value, [], i, { replace: l.replace, origins }) as Record<string, unknown>;
  });
  return { value: acc, origins };
}

/** Finds the origin of `path` or of its deepest ancestor that has one. */
export function originOf(origins: OriginMap, path: readonly PathSegment[]): { origin: Origin; rest: PathSegment[] } | undefined {
  for (let n = path.length; n >= 0; n--) {
    const o = origins.get(formatPath(path.slice(0, n)));
    if (o) return { origin: o, rest: path.slice(n) };
  }
  return undefined;
}
