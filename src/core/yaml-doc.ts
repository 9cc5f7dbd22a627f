/**
 * Safe YAML loading with source positions. Pure: takes bytes, returns a document handle
 * that can locate any dotted path, or located diagnostics. Rejects quickly, with one clear
 * message each: empty input, binary or non-UTF-8 data, inputs over 1 MiB, multiple
 * documents, alias bombs, nesting deeper than 64, and (optionally) non-mapping documents.
 */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { formatPath, type Diagnostic, type PathSegment } from './diagnostics.ts';

export const MAX_YAML_BYTES = 1024 * 1024;
export const MAX_YAML_DEPTH = 64;
export const MAX_ALIAS_EXPANSION = 10_000;

export interface Position {
  line: number;
  col: number;
}

export interface YamlSource {
  file: string;
  text: string;
  doc: Document.Parsed;
  /** The document as plain data (aliases expanded). */
  value: unknown;
  /** Position of the value at `path`, or of its deepest existing ancestor. */
  locate(path: readonly PathSegment[]): Position;
  /** Position of the key (not the value) at `path`, for unknown-key errors. */
  locateKey(path: readonly PathSegment[]): Position;
  /** Paths of nodes carrying the given tag, e.g. `!replace`. */
  taggedPaths(tag: string): PathSegment[][];
}

export type LoadResult = { ok: true; source: YamlSource; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[] };

export interface LoadOptions {
  /** Tags the caller handles itself (no "unresolved tag" warning). */
  knownTags?: readonly string[];
  /** Require the top level to be a mapping (default true). */
  requireMapping?: boolean;
}

const at = (file: string, line: number, col: number, message: string, path = ''): Diagnostic => ({
  file,
  line,
  col,
  path,
  message,
  severity: 'error',
});

export function loadYaml(file: string, bytes: Uint8Array, options: LoadOptions = {}): LoadResult {
  const fail = (message: string, line = 1, col = 1): LoadResult => ({ ok: false, errors: [at(file, line, col, message)] });
  if (bytes.byteLength === 0) return fail('file is empty; a profile needs at least apiVersion, kind and metadata');
  if (bytes.byteLength > MAX_YAML_BYTES) {
    return fail(`file is ${bytes.byteLength} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`);
  }
  if (bytes.includes(0)) return fail('file contains NUL bytes; it looks binary, not YAML');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('file is not valid UTF-8 text');
  }
  if (text.trim() === '') return fail('file is empty; a profile needs at least apiVersion, kind and metadata');
  const flowDepth = maxFlowDepth(text);
  if (flowDepth > MAX_YAML_DEPTH) return fail(`document is nested ${flowDepth} levels deep; the limit is ${MAX_YAML_DEPTH}`);

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  if (!Array.isArray(docs)) return fail('file could not be parsed as YAML');
  if (docs.length === 0) return fail('file contains no YAML document');
  if (docs.length > 1) {
    const second = docs[1] as Document.Parsed;
    const p = lineCounter.linePos(second.range?.[0] ?? 0);
    return fail('more than one YAML document in the file; put one profile per file', p.line, p.col);
  }
  const doc = docs[0] as Document.Parsed;
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const p = pos(e.pos[0]);
        return at(file, p.line, p.col, `YAML ${e.code}: ${firstLine(e.message)}`);
      }),
    };
  }
  const depth = measureDepth(doc.contents);
  if (depth > MAX_YAML_DEPTH) return fail(`document is nested more than ${MAX_YAML_DEPTH} levels deep; the limit is ${MAX_YAML_DEPTH}`);

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(msg)) return fail(`YAML aliases expand beyond ${MAX_ALIAS_EXPANSION} nodes (alias bomb?); remove the aliases`);
    return fail(`YAML could not be converted: ${firstLine(msg)}`);
  }
  if ((options.requireMapping ?? true) && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    return fail(`the document must be a mapping (key: value pairs), not ${describe(value)}`);
  }

  const known = new Set(options.knownTags ?? []);
  const warnings: Diagnostic[] = [];
  for (const w of doc.warnings) {
    if (w.code === 'TAG_RESOLVE_FAILED' && [...known].some((t) => w.message.includes(t))) continue;
    const p = pos(w.pos[0]);
    warnings.push({ ...at(file, p.line, p.col, `YAML ${w.code}: ${firstLine(w.message)}`), severity: 'warning' });
  }

  const nodeAt = (path: readonly PathSegment[]): { node: Node | undefined; key: Node | undefined } => {
    let node: unknown = doc.contents;
    let key: Node | undefined;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) return { node: undefined, key: undefined };
        key = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        key = undefined;
        if (node === undefined) return { node: undefined, key: undefined };
      } else return { node: undefined, key: undefined };
    }
    return { node: isNode(node) ? node : undefined, key };
  };
  const deepest = (path: readonly PathSegment[], wantKey: boolean): Position => {
    for (let n = path.length; n >= 0; n--) {
      const { node, key } = nodeAt(path.slice(0, n));
      const target = wantKey && n === path.length && key ? key : (node ?? (n === path.length ? key : undefined));
      if (target?.range) return pos(target.range[0]);
    }
    return { line: 1, col: 1 };
  };

  const source: YamlSource = {
    file,
    text,
    doc,
    value,
    locate: (path) => deepest(path, false),
    locateKey: (path) => deepest(path, true),
    taggedPaths: (tag) => collectTagged(doc.contents, tag),
  };
  return { ok: true, source, warnings };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty document';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/** Cheap pre-scan of flow-collection nesting ([ and {), so the parser never recurses deeply. */
function maxFlowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== '') {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\n')) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > max) max = depth;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return max;
}

function measureDepth(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, d] = stack.pop() as [unknown, number];
    if (d > max) max = d;
    if (d > MAX_YAML_DEPTH + 1) return d;
    if (isMap(node) || isSeq(node)) {
      for (const it of node.items) {
        if (isPair(it)) stack.push([it.value, d + 1]);
        else stack.push([it, d + 1]);
      }
    }
  }
  return max;
}

function collectTagged(root: unknown, tag: string): PathSegment[][] {
  const out: PathSegment[][] = [];
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isNode(node) && node.tag === tag) out.push(path);
    if (isMap(node)) {
      for (const it of node.items) if (isScalar(it.key)) walk(it.value, [...path, String(it.key.value)]);
    } else if (isSeq(node)) {
      node.items.forEach((it, i) => walk(it, [...path, i]));
    }
  };
  walk(root, []);
  return out;
}

export { formatPath };
