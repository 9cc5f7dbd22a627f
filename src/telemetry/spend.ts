/** `km otel` without a sandbox (SPEC §13.4): spend across sandboxes. */
import { toIso } from '../core/clock.ts';
import type { BudgetRecord, SandboxRecord, UsageTotal } from '../store/index.ts';
import { localTime, table, usd } from './views-render.ts';

export interface SpendInput {
  sandbox: SandboxRecord;
  ledger: readonly UsageTotal[];
  budget: BudgetRecord | undefined;
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

export function spendJson(items: readonly SpendInput[]) {
  const sandboxes = items.map(({ sandbox: s, ledger, budget }) => {
    const sum = (k: 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens') => ledger.reduce((a, t) => a + t[k], 0);
    return {
      id: s.id,
      alias: s.alias,
      status: s.status,
      ai_usd: round(ledger.reduce((a, t) => a + t.costUsd, 0)),
      compute_usd: round(budget?.computeSpentUsd ?? 0),
      ai_limit_usd: budget?.aiLimitUsd ?? null,
      compute_limit_usd: budget?.computeLimitUsd ?? null,
      tokens: { input: sum('inputTokens'), output: sum('outputTokens'), cache_read: sum('cacheReadTokens'), cache_write: sum('cacheWriteTokens') },
      last_activity_at: s.lastActivityAtMs === null ? null : toIso(s.lastActivityAtMs),
    };
  });
  const total = (f: (x: (typeof sandboxes)[number]) => number) => sandboxes.reduce((a, x) => a + f(x), 0);
  return {
    sandboxes,
    totals: {
      ai_usd: round(total((x) => x.ai_usd)),
      compute_usd: round(total((x) => x.compute_usd)),
      tokens: { input: total((x) => x.tokens.input), output: total((x) => x.tokens.output), cache_read: total((x) => x.tokens.cache_read), cache_write: total((x) => x.tokens.cache_write) },
    },
  };
}

const limit = (v: number | null): string => (v === null ? '-' : `$${v.toFixed(2)}`);
const tok = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

export function renderSpend(doc: ReturnType<typeof spendJson>, timeZone: string): string {
  if (doc.sandboxes.length === 0) return 'No sandboxes. Try: km create learn --alias demo\n';
  const rows = [['SANDBOX', 'AI', 'COMPUTE', 'LIMITS', 'TOKENS', 'LAST ACTIVITY']];
  for (const s of doc.sandboxes) {
    rows.push([
      `${s.alias ?? s.id}${s.status === 'destroyed' ? ' (destroyed)' : ''}`,
      usd(s.ai_usd),
      usd(s.compute_usd),
      `${limit(s.ai_limit_usd)}/${limit(s.compute_limit_usd)}`,
      `${tok(s.tokens.input)} in / ${tok(s.tokens.output)} out`,
      s.last_activity_at ? localTime(s.last_activity_at, timeZone) : '-',
    ]);
  }
  const t = doc.totals;
  rows.push(['TOTAL', usd(t.ai_usd), usd(t.compute_usd), '', `${tok(t.tokens.input)} in / ${tok(t.tokens.output)} out`, '']);
  return table(rows);
}
