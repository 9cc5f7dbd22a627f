/**
 * Prices and cost formulas (SPEC §6.2). Pure: the table is a versioned data file in the repo;
 * operator overrides (config `pricing.overrides`) win per model; anything unknown is priced by
 * the deliberately conservative fallback and flagged `fallback`.
 */
import table from './prices.json' with { type: 'json' };
import type { Provider, TokenUsage } from '../metering/parsers/index.ts';

export interface ModelPrice {
  provider: Provider;
  model: string;
  /** Globs (`*` = any characters) for dated ids, `-v1:0` suffixes and similar. */
  match?: string[];
  /** USD per million tokens. */
  input: number;
  output: number;
  cache_write_5m?: number;
  cache_write_1h?: number;
  cache_read?: number;
  cached_input?: number;
}

export interface PriceTable {
  version: string;
  /** Batch APIs (Anthropic Message Batches, OpenAI batches) bill this fraction of the list price. */
  batch_multiplier?: number;
  models: ModelPrice[];
}

export type PriceSource = 'table' | 'override' | 'fallback';

export interface Rates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  cachedInput: number;
}

export interface PriceBook {
  version: string;
  lookup(provider: Provider, model: string | null): { rates: Rates; source: PriceSource; matched: string | null };
  /** `batch`: a request run through a provider's batch API (billed at the batch multiplier). */
  cost(provider: Provider, model: string | null, usage: TokenUsage, opts?: { batch?: boolean }): { costUsd: number; source: PriceSource; rates: Rates };
}

export const PRICE_TABLE: PriceTable = table as PriceTable;
export const DEFAULT_FALLBACK = { input: 15, output: 75 } as const;
/** Both providers' batch discount (50 % off input, output and cache prices alike). */
export const DEFAULT_BATCH_MULTIPLIER = 0.5;

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

function ratesOf(p: Pick<ModelPrice, 'input' | 'output' | 'cache_write_5m' | 'cache_write_1h' | 'cache_read' | 'cached_input'>): Rates {
  return {
    input: p.input,
    output: p.output,
    cacheWrite5m: p.cache_write_5m ?? p.input * 1.25,
    cacheWrite1h: p.cache_write_1h ?? p.input * 2,
    cacheRead: p.cache_read ?? p.input * 0.1,
    cachedInput: p.cached_input ?? p.input,
  };
}

function finder(models: readonly ModelPrice[]): (provider: Provider, model: string) => ModelPrice | undefined {
  const compiled = models.map((m) => ({ m, res: (m.match ?? []).map(globToRegExp) }));
  return (provider, model) => {
    const id = model.toLowerCase();
    const same = compiled.filter((c) => c.m.provider === provider);
    const exact = same.find((c) => c.m.model.toLowerCase() === id);
    if (exact) return exact.m;
    // The most specific (longest) matching pattern wins.
    let best: { m: ModelPrice; len: number } | undefined;
    for (const c of same) {
      c.res.forEach((re, i) => {
        const len = (c.m.match?.[i] ?? '').length;
        if (re.test(id) && (!best || len > best.len)) best = { m: c.m, len };
      });
    }
    return best?.m;
  };
}

export function createPriceBook(opts: { table?: PriceTable; overrides?: ModelPrice[]; fallback?: { input: number; output: number } } = {}): PriceBook {
  const base = opts.table ?? PRICE_TABLE;
  const fromTable = finder(base.models);
  const fromOverrides = finder(opts.overrides ?? []);
  const fallback = opts.fallback ?? DEFAULT_FALLBACK;
  const batchMultiplier = base.batch_multiplier ?? DEFAULT_BATCH_MULTIPLIER;
  const lookup: PriceBook['lookup'] = (provider, model) => {
    if (model !== null) {
      const o = fromOverrides(provider, model);
      if (o) return { rates: ratesOf(o), source: 'override', matched: o.model };
      const t = fromTable(provider, model);
      if (t) return { rates: ratesOf(t), source: 'table', matched: t.model };
    }
    return { rates: ratesOf(fallback), source: 'fallback', matched: null };
  };
  return {
    version: base.version,
    lookup,
    cost(provider, model, usage, o = {}) {
      const { rates, source } = lookup(provider, model);
      const list = costFor(provider, usage, rates);
      return { costUsd: o.batch ? roundUsd(list * batchMultiplier) : list, source, rates };
    },
  };
}

/**
 * Anthropic and Bedrock: input excludes cache tokens, which are priced on their own.
 * OpenAI: cached tokens are part of input and priced at the cached rate; reasoning tokens
 * are part of output and never added twice.
 */
export function costFor(provider: Provider, u: TokenUsage, r: Rates): number {
  const perToken = (n: number, rate: number) => (n * rate) / 1_000_000;
  let usd: number;
  if (provider === 'openai') {
    const cached = Math.min(u.cachedInputTokens, u.inputTokens);
    usd = perToken(u.inputTokens - cached, r.input) + perToken(cached, r.cachedInput) + perToken(u.outputTokens, r.output);
  } else {
    usd =
      perToken(u.inputTokens, r.input) +
      perToken(u.outputTokens, r.output) +
      perToken(u.cacheWriteTokens, r.cacheWrite5m) +
      perToken(u.cacheWrite1hTokens, r.cacheWrite1h) +
      perToken(u.cacheReadTokens, r.cacheRead);
  }
  return roundUsd(usd);
}

/** Money is kept to 1e-9 USD so sums of many small exchanges stay exact enough. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;

export { INSTANCE_PRICES, instanceHourlyUsd, type InstancePriceTable } from './instances.ts';
