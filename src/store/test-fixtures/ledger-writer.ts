/**
 * Worker for the kill -9 test: upserts ledger rows forever, printing each exchange id after
 * its write returned (i.e. was committed). argv: <db path>.
 */
import { systemClock } from '../../core/clock.ts';
import { openSqliteStore } from '../index.ts';

const store = await openSqliteStore(process.argv[2] as string, { clock: systemClock });
for (let i = 0; ; i++) {
  await store.upsertUsage('sb-00000001', `x${i}`, {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    inputTokens: i,
    outputTokens: 1,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001,
    priced: 'table',
    partial: false,
    atMs: Date.now(),
  });
  process.stdout.write(`x${i}\n`);
  if (i % 20 === 19) await new Promise((r) => setImmediate(r));
}
