/**
 * Resolving a profile reference into a validated, merged profile with every default
 * applied (SPEC §1.4, §2): load the extends graph, merge with `!replace`, validate the
 * merged document with the schema and the semantic rules for the effective substrate.
 */
import { formatPath, type Diagnostic, type PathSegment } from '../core/diagnostics.ts';
import { KmError } from '../core/errors.ts';
import type { YamlSource } from '../core/yaml-doc.ts';
import { loadGraph, type ProfileNode, type ProfileReader } from './graph.ts';
import { issuesToDiagnostics } from './issues.ts';
import { createLocator, diagIn } from './locate.ts';
import { isPlainObject, mergeLayers, type MergeLayer } from './merge.ts';
import { DEFAULT_INSTANCE_TYPE } from './instance-types.ts';
import { semanticFindings } from './rules.ts';
import { ProfileSchema, type Profile } from './schema.ts';
import type { Substrate } from './schema-sections.ts';

export interface ResolveOptions {
  cwd: string;
  searchPaths: string[];
  reader: ProfileReader;
  /** The operator's default substrate, used when the profile sets no runtime.substrate (default local). */
  substrate?: Substrate;
  /** Check against this substrate whatever the profile says (`km validate --substrate`). */
  substrateOverride?: Substrate;
  /** The operator's region, used when the profile sets no runtime.region (default us-east-1). */
  region?: string;
  /** Home directory, to show search paths as `~/…` in messages. */
  home?: string;
}

export interface ResolvedProfile {
  name: string;
  abstract: boolean;
  file: string | null;
  sources: Array<{ name: string; file: string; builtin: boolean }>;
  profile: Profile;
  /** The substrate the profile was checked for. */
  substrate: Substrate;
}

export type ResolveResult =
  | { ok: true; resolved: ResolvedProfile; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

const valueAt = (root: unknown, path: readonly PathSegment[]): unknown =>
  path.reduce<unknown>(
    (cur, seg) => (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, String(seg)) ? (cur as Record<string, unknown>)[String(seg)] : undefined),
    root,
  );

/** The layer a node contributes: without `extends`, and without name/abstract unless it is the leaf. */
function layerOf(node: ProfileNode, leaf: boolean): MergeLayer {
  const value = structuredClone(node.value);
  delete value.extends;
  if (!leaf && isPlainObject(value.metadata)) {
    delete value.metadata.name;
    delete value.metadata.abstract;
  }
  const replace = new Set(node.source.taggedPaths('!replace').map((p) => formatPath(p)));
  return { value, replace };
}

/** `!replace` checks: an error on scalars, a warning where nothing came before. */
function replaceDiagnostics(node: ProfileNode, first: boolean, leafDisplay: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of node.source.taggedPaths('!replace')) {
    const v = valueAt(node.value, p);
    if (v === null || typeof v !== 'object') {
      out.push(diagIn(node.source, p, '!replace has no effect on a scalar; just set the value', 'error', leafDisplay));
    } else if (first) {
      out.push(diagIn(node.source, p, '!replace has no effect in a profile without extends', 'warning', leafDisplay));
    }
  }
  return out;
}

function effectiveSubstrate(profile: Profile, opts: ResolveOptions): Substrate {
  return opts.substrateOverride ?? profile.spec.runtime.substrate ?? opts.substrate ?? 'local';
}

/** Defaults that depend on the operator and the substrate (SPEC §1.2). */
function applyContextDefaults(profile: Profile, merged: unknown, substrate: Substrate, opts: ResolveOptions): Profile {
  const out = structuredClone(profile);
  const { substrate: _written, ...runtime } = out.spec.runtime;
  out.spec.runtime = { substrate, ...runtime };
  const rt = out.spec.runtime;
  if (valueAt(merged, ['spec', 'runtime', 'region']) === undefined && opts.region !== undefined) rt.region = opts.region;
  if (rt.instanceType === undefined && (substrate === 'ec2' || substrate === 'ecs')) rt.instanceType = DEFAULT_INSTANCE_TYPE;
  if (out.spec.identity.allowedRegions === undefined) out.spec.identity.allowedRegions = [rt.region];
  return out;
}

export function resolveProfile(ref: string, opts: ResolveOptions): ResolveResult {
  const graph = loadGraph(ref, opts);
  if (!graph.ok) return graph;
  const { order } = graph;
  const warnings = [...graph.warnings];
  const leaf = order[order.length - 1] as ProfileNode;
  const errors: Diagnostic[] = [];
  order.forEach((n, i) => {
    for (const d of replaceDiagnostics(n, i === 0, leaf.display)) (d.severity === 'error' ? errors : warnings).push(d);
  });
  const { value: merged, origins } = mergeLayers(order.map((n, i) => layerOf(n, i === order.length - 1)));
  const sources: YamlSource[] = order.map((n) => n.source);
  const locator = createLocator(sources, origins, leaf.display);
  const parsed = ProfileSchema.safeParse(merged);
  if (!parsed.success) errors.push(...issuesToDiagnostics(ProfileSchema, parsed.error.issues, merged, locator));
  if (errors.length > 0 || !parsed.success) return { ok: false, errors: byPosition(errors), warnings: byPosition(warnings) };

  const substrate = effectiveSubstrate(parsed.data, opts);
  const profile = applyContextDefaults(parsed.data, merged, substrate, opts);
  if (!profile.metadata.abstract) {
    for (const f of semanticFindings(profile, substrate)) {
      const d = locator.diag(f.path, f.message, { severity: f.severity });
      (f.severity === 'error' ? errors : warnings).push(d);
    }
  }
  if (errors.length > 0) return { ok: false, errors: byPosition(errors), warnings: byPosition(warnings) };
  const resolved: ResolvedProfile = {
    name: profile.metadata.name ?? '',
    abstract: profile.metadata.abstract,
    file: leaf.path,
    sources: order.map((n) => ({ name: nodeDisplayName(n), file: n.path, builtin: n.builtin })),
    profile,
    substrate,
  };
  return { ok: true, resolved, warnings: byPosition(warnings) };
}

/** Diagnostics in reading order: by file (leaf first), then line and column. */
function byPosition(ds: Diagnostic[]): Diagnostic[] {
  const fileRank = (d: Diagnostic) => (d.inheritedBy === undefined ? 0 : 1);
  return [...ds].sort((a, b) => fileRank(a) - fileRank(b) || a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

function nodeDisplayName(n: ProfileNode): string {
  const meta = n.value.metadata;
  if (isPlainObject(meta) && typeof meta.name === 'string') return meta.name;
  return n.path.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
}

/** Refuses abstract fragments at create (SPEC §0.1). */
export function assertCreatable(resolved: ResolvedProfile): void {
  if (resolved.abstract) {
    throw new KmError('profile_invalid', `profile ${resolved.name || (resolved.file ?? '')} is an abstract fragment (metadata.abstract: true) and cannot be created`, {
      hint: 'create a profile that extends it',
    });
  }
}
