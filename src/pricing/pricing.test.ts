import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyUsage } from '../metering/parsers/index.ts';
import { createPriceBook, PRICE_TABLE } from './index.ts';

const usage = (u: Partial<ReturnType<typeof emptyUsage>>) => ({ ...emptyUsage(), ...u });

test('the SPEC §6.2 worked example costs $0.0198', () => {
  const book = createPriceBook({ table: { version: 't', models: [{ provider: 'anthropic', model: 'm', input: 3, output: 15 }] } });
  const r = book.cost('anthropic', 'm', usage({ inputTokens: 2000, cacheWriteTokens: 400, cacheReadTokens: 1000, outputTokens: 800 }));
  assert.equal(r.costUsd, 0.0198);
  assert.equal(r.source, 'table');
});

test('1-hour cache writes cost twice the input rate', () => {
  const book = createPriceBook({ table: { version: 't', models: [{ provider: 'anthropic', model: 'm', input: 3, output: 15 }] } });
  assert.equal(book.cost('anthropic', 'm', usage({ cacheWrite1hTokens: 1_000_000 })).costUsd, 6);
});

test('OpenAI: cached input at the cached rate, reasoning not added twice', () => {
  const book = createPriceBook();
  const r = book.cost('openai', 'gpt-4o-2024-08-06', usage({ inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 100_000, reasoningTokens: 50_000 }));
  // 600k × 2.5 + 400k × 1.25 + 100k × 10 (per million)
  assert.equal(r.costUsd, 1.5 + 0.5 + 1.0);
});

test('model matching: exact, dated ids, Bedrock suffixes; the longest pattern wins', () => {
  const book = createPriceBook();
  assert.equal(book.lookup('anthropic', 'claude-sonnet-4-5-20250929').matched, 'claude-sonnet-4-5');
  assert.equal(book.lookup('anthropic', 'claude-sonnet-4-20250514').matched, 'claude-sonnet-4');
  assert.equal(book.lookup('openai', 'gpt-4o-mini-2024-07-18').matched, 'gpt-4o-mini');
  assert.equal(book.lookup('openai', 'gpt-4o').matched, 'gpt-4o');
  assert.equal(book.lookup('bedrock', 'anthropic.claude-opus-4-6-v1').matched, 'anthropic.claude-opus-4-6');
  assert.equal(book.lookup('bedrock', 'anthropic.claude-3-5-haiku-20241022-v1:0').matched, 'anthropic.claude-3-5-haiku');
});

test('unknown models use the conservative fallback and are flagged', () => {
  const book = createPriceBook();
  const r = book.cost('anthropic', 'claude-unknown-9', usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }));
  assert.equal(r.source, 'fallback');
  assert.equal(r.costUsd, 15 + 75);
  assert.equal(book.lookup('openai', null).source, 'fallback');
});

test('operator overrides win per model', () => {
  const book = createPriceBook({ overrides: [{ provider: 'openai', model: 'gpt-4o', input: 1, output: 2 }], fallback: { input: 1, output: 1 } });
  const r = book.cost('openai', 'gpt-4o', usage({ inputTokens: 1_000_000 }));
  assert.equal(r.source, 'override');
  assert.equal(r.costUsd, 1);
  assert.equal(book.cost('openai', 'nope', usage({ outputTokens: 2_000_000 })).costUsd, 2);
});

test('the table is well-formed: a version date, positive prices, unique ids per provider', () => {
  assert.match(PRICE_TABLE.version, /^\d{4}-\d{2}-\d{2}$/);
  const seen = new Set<string>();
  for (const m of PRICE_TABLE.models) {
    const key = `${m.provider}/${m.model}`;
    assert.ok(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
    assert.ok(m.input > 0 && m.output >= 0, key);
  }
});

test('batch requests cost the table batch multiplier times the list price (0.5 unless the table says)', () => {
  const u = { ...emptyUsage(), inputTokens: 2000, outputTokens: 800, cacheWriteTokens: 400, cacheReadTokens: 1000 };
  const book = createPriceBook();
  assert.equal(PRICE_TABLE.batch_multiplier, 0.5);
  assert.equal(book.cost('anthropic', 'claude-sonnet-4-5', u, { batch: true }).costUsd, 0.0099);
  assert.equal(book.cost('anthropic', 'claude-sonnet-4-5', u).costUsd, 0.0198);
  const other = createPriceBook({ table: { ...PRICE_TABLE, batch_multiplier: 0.25 } });
  assert.equal(other.cost('anthropic', 'claude-sonnet-4-5', u, { batch: true }).costUsd, 0.00495);
});
