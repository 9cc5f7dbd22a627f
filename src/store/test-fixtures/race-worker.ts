/**
 * Worker for the multi-process store test: opens the shared database and, starting at an
 * agreed instant, inserts sandboxes, ledger rows and events and races transitions.
 * argv: <db path> <worker index> <start at ms> <plan JSON>. Prints one JSON result line.
 */
import { systemClock } from '../../core/clock.ts';
import { KmError } from '../../core/errors.ts';
import { newSandboxId } from '../../core/ids.ts';
import { openSqliteStore } from '../index.ts';

interface Plan {
  sandboxes: number;
  sharedAliases: number;
  ledgerSandbox: string;
  exchanges: number;
  sharedExchanges: number;
  eventBatches: number;
  eventsPerBatch: number;
  raceIds: string[];
}

const [path, indexArg, startArg, planArg] = process.argv.slice(2);
const index = Number(indexArg);
const plan = JSON.parse(planArg as string) as Plan;
const store = await openSqliteStore(path as string, { clock: systemClock, busyTimeoutMs: 30_000 });
const errors: Record<string, number> = {};
const fail = (e: unknown): void => {
  const code = e instanceof KmError ? e.code : `unexpected: ${String(e)}`;
  errors[code] = (errors[code] ?? 0) + 1;
};
const base = {
  profileName: 'learn',
  profile: {},
  substrate: 'local',
  createdAtMs: Date.now(),
  teardownPolicy: 'destroy' as const,
  enforcementRequested: 'proxy',
  createdBy: 'cli' as const,
};

await new Promise((r) => setTimeout(r, Math.max(0, Number(startArg) - Date.now())));

const inserted: string[] = [];
const aliasWins: string[] = [];
const raceWins: string[] = [];
for (let k = 0; k < Math.max(plan.sandboxes, plan.sharedAliases, plan.exchanges, plan.eventBatches, plan.raceIds.length); k++) {
  if (k < plan.sandboxes) inserted.push((await store.insertSandbox({ ...base, id: newSandboxId('w'), alias: `w${index}-${k}` })).id);
  if (k < plan.sharedAliases) {
    await store.insertSandbox({ ...base, id: newSandboxId('w'), alias: `shared-${k}` }).then((s) => aliasWins.push(s.alias as string), fail);
  }
  if (k < plan.exchanges) {
    await store.upsertUsage(plan.ledgerSandbox, `w${index}-x${k}`, usage(0.001));
  }
  if (k < plan.sharedExchanges) await store.upsertUsage(plan.ledgerSandbox, `shared-x${k}`, usage(0.5));
  if (k < plan.eventBatches) {
    const batch = Array.from({ length: plan.eventsPerBatch }, (_, j) => ({
      timestampMs: Date.now(),
      sandboxId: plan.ledgerSandbox,
      eventType: 'race.test',
      source: `worker-${index}`,
      detail: { k, j },
    }));
    await store.appendEvents(batch);
  }
  // Yield so other processes get the write lock between our transactions.
  await new Promise((r) => setTimeout(r, 1 + (k % 3)));
  const raceId = plan.raceIds[k];
  if (raceId !== undefined) {
    await store.transition(raceId, ['running'], index % 2 === 0 ? 'destroying' : 'stopped', {}, { atMs: Date.now() }).then(() => raceWins.push(raceId), fail);
  }
}
await store.close();
process.stdout.write(JSON.stringify({ index, inserted, aliasWins, raceWins, errors }) + '\n');

function usage(costUsd: number) {
  return {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    inputTokens: 10,
    outputTokens: 1,
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd,
    priced: 'table' as const,
    partial: false,
    atMs: Date.now(),
  };
}
