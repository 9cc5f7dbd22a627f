/**
 * Loading a profile and its `extends` ancestors (SPEC §2.1): cycle and depth checks, and
 * the merge order — the DAG linearised depth-first, each shared ancestor at its first
 * position, the leaf last.
 */
import { basename, dirname } from 'node:path';
import type { Diagnostic, PathSegment } from '../core/diagnostics.ts';
import { loadYaml, type YamlSource } from '../core/yaml-doc.ts';
import { diagIn } from './locate.ts';
import { cachingReader, displayPath, fileDiag, findProfile, pathLike, type LookupOptions, type ProfileReader } from './lookup.ts';
import { apiVersionSchema, extendsSchema, kindSchema } from './schema.ts';

export type { ProfileReader };
export { displayPath };

export const MAX_EXTENDS_DEPTH = 10;

export interface ProfileNode {
  /** Absolute path (identity). */
  path: string;
  /** How diagnostics name the file. */
  display: string;
  builtin: boolean;
  source: YamlSource;
  value: Record<string, unknown>;
  refs: string[];
}

export type GraphResult =
  | { ok: true; order: ProfileNode[]; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

interface Ctx {
  opts: LookupOptions;
  reader: ReturnType<typeof cachingReader>;
  leaf: { path: string; display: string };
  errors: Diagnostic[];
  warnings: Diagnostic[];
  nodes: Map<string, ProfileNode | null>;
  order: ProfileNode[];
  emitted: Set<string>;
  deepest: Map<string, number>;
}

const nodeName = (n: { path: string }): string => basename(n.path).replace(/\.ya?ml$/, '');
const inherited = (ctx: Ctx, display: string) => (display === ctx.leaf.display ? undefined : ctx.leaf.display);
const withInherited = (d: Diagnostic, by: string | undefined): Diagnostic => (by === undefined ? d : { ...d, inheritedBy: by });

function readBytes(ctx: Ctx, path: string, display: string): Uint8Array | undefined {
  const fail = (message: string) => {
    ctx.errors.push(fileDiag(display, message, inherited(ctx, display)));
    return undefined;
  };
  try {
    if (ctx.reader.isDirectory(path)) return fail('is a directory; give a profile file (.yaml)');
    return ctx.reader.read(path) ?? fail('no such file');
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
}

/** Loads one file: YAML, envelope (apiVersion, kind) and the shape of `extends`. */
function loadNode(ctx: Ctx, path: string, builtin: boolean): ProfileNode | null {
  const display = path === ctx.leaf.path ? ctx.leaf.display : displayPath(path, ctx.opts.cwd, ctx.opts.home);
  const bytes = readBytes(ctx, path, display);
  if (bytes === undefined) return null;
  const by = inherited(ctx, display);
  const loaded = loadYaml(display, bytes, { knownTags: ['!replace'] });
  if (!loaded.ok) {
    ctx.errors.push(...loaded.errors.map((d) => withInherited(d, by)));
    return null;
  }
  ctx.warnings.push(...loaded.warnings.map((d) => withInherited(d, by)));
  const source = loaded.source;
  const value = source.value as Record<string, unknown>;
  let ok = true;
  for (const [key, schema] of [['apiVersion', apiVersionSchema], ['kind', kindSchema]] as const) {
    const r = schema.safeParse(value[key]);
    if (!r.success) {
      ctx.errors.push(diagIn(source, [key], r.error.issues[0]?.message ?? 'invalid', 'error', ctx.leaf.display));
      ok = false;
    }
  }
  const ext = value.extends === undefined ? { success: true as const, data: undefined } : extendsSchema.safeParse(value.extends);
  if (!ext.success) {
    ctx.errors.push(diagIn(source, ['extends'], 'expected a profile name or a non-empty list of names', 'error', ctx.leaf.display));
    ok = false;
  }
  if (!ok) return null;
  const refs = ext.data === undefined ? [] : typeof ext.data === 'string' ? [ext.data] : ext.data;
  return { path, display, builtin, source, value, refs };
}

function load(ctx: Ctx, path: string, builtin: boolean): ProfileNode | null {
  if (!ctx.nodes.has(path)) ctx.nodes.set(path, loadNode(ctx, path, builtin));
  return ctx.nodes.get(path) ?? null;
}

const refPath = (node: ProfileNode, i: number): PathSegment[] => (Array.isArray(node.value.extends) ? ['extends', i] : ['extends']);

function visit(ctx: Ctx, path: string, builtin: boolean, depth: number, stack: ProfileNode[], from?: { node: ProfileNode; at: PathSegment[] }): void {
  const onStack = stack.findIndex((n) => n.path === path);
  if (onStack >= 0 && from) {
    const chain = [...stack.slice(onStack), stack[onStack] as ProfileNode].map(nodeName).join(' → ');
    ctx.errors.push(diagIn(from.node.source, from.at, `extends cycle: ${chain}`, 'error', ctx.leaf.display));
    return;
  }
  const node = load(ctx, path, builtin);
  if (!node) return;
  if (ctx.emitted.has(path) && (ctx.deepest.get(path) ?? 0) >= depth) return;
  ctx.deepest.set(path, Math.max(depth, ctx.deepest.get(path) ?? 0));
  if (node.refs.length > 0 && depth >= MAX_EXTENDS_DEPTH) {
    const message = `extends chain is ${depth + 1} levels deep; the maximum is ${MAX_EXTENDS_DEPTH}`;
    ctx.errors.push(diagIn(node.source, ['extends'], message, 'error', ctx.leaf.display));
    return;
  }
  node.refs.forEach((r, i) => {
    const found = findProfile(r, dirname(path), ctx.opts, ctx.reader.exists);
    if ('message' in found) ctx.errors.push(diagIn(node.source, refPath(node, i), found.message, 'error', ctx.leaf.display));
    else visit(ctx, found.path, found.builtin, depth + 1, [...stack, node], { node, at: refPath(node, i) });
  });
  if (!ctx.emitted.has(path)) {
    ctx.emitted.add(path);
    ctx.order.push(node);
  }
}

export function loadGraph(ref: string, opts: LookupOptions): GraphResult {
  const reader = cachingReader(opts.reader);
  const warnings: Diagnostic[] = [];
  const leafInfo = findProfile(ref, undefined, opts, reader.exists);
  if ('message' in leafInfo) return { ok: false, errors: [fileDiag(ref, leafInfo.message)], warnings };
  const display = !leafInfo.builtin && pathLike(ref) ? ref : displayPath(leafInfo.path, opts.cwd, opts.home);
  const ctx: Ctx = {
    opts,
    reader,
    leaf: { path: leafInfo.path, display },
    errors: [],
    warnings,
    nodes: new Map(),
    order: [],
    emitted: new Set(),
    deepest: new Map(),
  };
  visit(ctx, leafInfo.path, leafInfo.builtin, 0, []);
  if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors, warnings };
  return { ok: true, order: ctx.order, warnings };
}
