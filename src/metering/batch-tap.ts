/**
 * The meter of a batch results download (see parsers/batch.ts): every succeeded request in
 * the file becomes its own ledger row at batch prices, committed as its line ends, keyed so a
 * second download of the same results replaces the rows instead of adding to them. The end of
 * the body waits until every row is committed (SPEC §6.3).
 */
import { createBatchResultsParser, emptyUsage, type BatchResult, type BatchSource, type ResponseInfo } from './parsers/index.ts';
import type { ResponseTap } from '../gateway/index.ts';
import type { UsageUpdate } from '../store/index.ts';
import { meteringError, rowOf, usageDetail, type ExchangeFacts, type ExchangeMeterDeps } from './rows.ts';

export function createBatchTap(deps: ExchangeMeterDeps, facts: ExchangeFacts, source: BatchSource, res: ResponseInfo): ResponseTap {
  const { ledger } = deps;
  const ok = res.status >= 200 && res.status < 300;
  const parser = createBatchResultsParser(source);
  const failed = (err: unknown): void => meteringError(deps, facts, err);
  // The ledger queues commits in order; these are the event emissions that follow them.
  const pending: Array<Promise<void>> = [];
  let finished = false;

  const commit = (exchangeId: string, row: UsageUpdate): void => {
    pending.push(
      ledger
        .commit(exchangeId, row)
        .then((r) => ledger.emit('ai.usage', { ...usageDetail(facts, res.status, row, r, exchangeId), batch: true }))
        .catch(failed),
    );
  };
  const record = (results: BatchResult[]): void => {
    for (const r of results) {
      const snap = { provider: r.provider, model: r.model, usage: r.usage, seen: true, complete: true };
      commit(r.key, rowOf(deps, facts, snap, false, false, true));
    }
  };
  const feed = (f: () => BatchResult[]): void => {
    try {
      record(f());
    } catch (err) {
      failed(err);
    }
  };
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    try {
      // A line too long to parse still ran and was billed: flagged, never silently dropped.
      const over = parser.oversized();
      if (over > 0) {
        failed(`${over} batch result line(s) over the parse bound; their usage is missing`);
        const idOf = 'batchId' in source ? source.batchId : source.fileId;
        const snap = { provider: source.provider, model: null, usage: emptyUsage(), seen: false, complete: false };
        for (let i = 1; i <= over; i++) commit(`batch:${idOf}:oversized:${facts.exchangeId}:${i}`, rowOf(deps, facts, snap, false, true, true));
      }
      await Promise.all(pending);
    } finally {
      deps.done();
    }
  };

  return {
    data(chunk) {
      if (ok && !finished) feed(() => parser.push(chunk));
    },
    async end() {
      if (ok && !finished) feed(() => parser.end());
      await finish();
    },
    // Cut short: every line completed so far is committed; a partial last line was not billed here.
    abort: () => void finish(),
  };
}
