/**
 * Pure renderers for `km validate` and `km profile …` (SPEC §1.6–1.7).
 */
import { stringify } from 'yaml';
import type { Diagnostic } from '../core/diagnostics.ts';
import { diagnosticText } from '../profile/index.ts';

export type ValidateStatus = 'valid' | 'invalid' | 'skipped';

export interface ValidateOutcome {
  file: string;
  status: ValidateStatus;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** Warnings counted as failures (--strict). */
  strictFailure?: boolean;
}

/** One diagnostic line (file-level problems have no position). */
export const diagnosticLine = diagnosticText;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function statusLine(o: ValidateOutcome): string {
  switch (o.status) {
    case 'skipped':
      return `${o.file}: skipped (abstract fragment; checked through the profiles that extend it)`;
    case 'valid':
      return o.warnings.length > 0 ? `${o.file}: valid (with warnings)` : `${o.file}: valid`;
    case 'invalid':
      if (o.errors.length === 0 && o.strictFailure) return `${o.file}: invalid (${plural(o.warnings.length, 'warning')} with --strict)`;
      return `${o.file}: invalid (${plural(o.errors.length, 'error')})`;
  }
}

const diagJson = (d: Diagnostic) => ({
  file: d.file,
  line: d.line,
  col: d.col,
  path: d.path,
  message: d.message,
  ...(d.inheritedBy !== undefined ? { inherited_by: d.inheritedBy } : {}),
});

export function validateJson(outcomes: readonly ValidateOutcome[]): unknown {
  return outcomes.map((o) => ({ file: o.file, status: o.status, errors: o.errors.map(diagJson), warnings: o.warnings.map(diagJson) }));
}

export interface ListedProfile {
  name: string;
  source: 'builtin' | 'file';
  path: string;
  abstract: boolean;
  description: string;
}

export function profileListText(rows: readonly ListedProfile[]): string {
  const header = ['NAME', 'SOURCE', 'DESCRIPTION'];
  const cells = rows.map((r) => [r.name, r.source === 'builtin' ? 'builtin' : r.path, `${r.abstract ? '(abstract) ' : ''}${r.description}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

export function profileListJson(rows: readonly ListedProfile[]): unknown {
  return rows.map((r) => ({ name: r.name, source: r.source, path: r.path, abstract: r.abstract, description: r.description }));
}

export interface ShownSource {
  name: string;
  file: string;
  builtin: boolean;
}

/** Header comment naming the contributing files, leaf last. */
export function showHeader(ref: string, resolved: boolean, sources: readonly ShownSource[]): string {
  const lines = [`# km profile show${resolved ? ' --resolved' : ''} ${ref}`];
  if (resolved) {
    lines.push('# merged from (in order; defaults applied):');
    const w = Math.max(...sources.map((s) => s.name.length));
    for (const s of sources) lines.push(`#   ${s.name.padEnd(w)}  ${s.file}${s.builtin ? ' (built-in)' : ''}`);
  } else {
    const leaf = sources[sources.length - 1];
    lines.push(`# file: ${leaf?.file ?? ref}`);
    if (sources.length > 1) lines.push(`# extends: ${sources.slice(0, -1).map((s) => `${s.name} (${s.file})`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

/** YAML of a resolved profile, keys in schema order, long strings kept readable. */
export function profileYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}
