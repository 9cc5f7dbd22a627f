/**
 * Located diagnostics, shared by profiles and operator config (SPEC §1.5):
 * `<file>:<line>:<col>: <dotted.path>: <message>` (warnings: `…: warning: <message>`).
 */
export type Severity = 'error' | 'warning';
export type PathSegment = string | number;

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted path with `[i]` for list items; '' for the document itself. */
  path: string;
  message: string;
  severity: Severity;
  /** For values inherited through `extends`: the leaf file that inherited it. */
  inheritedBy?: string;
}

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const path = d.path === '' ? '' : `${d.path}: `;
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  const inherited = d.inheritedBy ? ` (inherited by ${d.inheritedBy})` : '';
  return `${where}: ${path}${sev}${d.message}${inherited}`;
}

/** Damerau-free Levenshtein distance, small inputs only (did-you-mean suggestions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[n] as number;
}

/** The closest candidate within `maxDistance` edits (case-insensitive), if any. */
export function suggest(word: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
