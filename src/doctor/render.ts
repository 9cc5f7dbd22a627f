/** Pure renderer of doctor results: an aligned table with status glyphs. */
import type { CheckResult, CheckStatus } from './types.ts';
import type { FixRecord } from './run.ts';
import { summarize } from './run.ts';

export interface Paint {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
}

const GLYPH: Readonly<Record<CheckStatus, string>> = { pass: '✓', warn: '!', fail: '✗', skip: '-' };

function paintFor(status: CheckStatus, p: Paint): (s: string) => string {
  return status === 'pass' ? p.green : status === 'warn' ? p.yellow : status === 'fail' ? p.red : p.dim;
}

export function renderDoctor(results: readonly CheckResult[], fixes: readonly FixRecord[], opts: { quiet: boolean; paint: Paint }): string {
  const shown = opts.quiet ? results.filter((r) => r.status !== 'pass') : results;
  const width = Math.max(0, ...shown.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of shown) {
    const paint = paintFor(r.status, opts.paint);
    lines.push(`${paint(`${GLYPH[r.status]} ${r.status.padEnd(4)}`)}  ${r.name.padEnd(width)}  ${r.message}`);
    if (r.hint && r.status !== 'pass') lines.push(`${' '.repeat(10 + width)}${opts.paint.dim(`hint: ${r.hint}`)}`);
  }
  for (const f of fixes) {
    const paint = f.ok ? opts.paint.green : opts.paint.red;
    lines.push(`${paint(f.ok ? 'fixed' : 'fix failed')}  ${f.check}: ${f.action}: ${f.message}`);
  }
  const c = summarize(results);
  lines.push(`${results.length} checks: ${c.pass} pass, ${c.warn} warn, ${c.fail} fail, ${c.skip} skip`);
  return lines.join('\n') + '\n';
}
