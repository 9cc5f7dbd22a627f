/**
 * Metering of one AI exchange: feeds the usage parser with the response body as it is
 * forwarded, commits the ledger row as usage appears (partial until the final figure), and
 * holds the end of the body until the final row is committed (SPEC §6.3).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createUsageParser, emptyUsage, type MeterRoute, type ResponseInfo, type UsageSnapshot } from './parsers/index.ts';
import type { UsageUpdate } from '../store/index.ts';
import type { ResponseTap } from '../gateway/index.ts';
import type { CommitResult } from './ledger.ts';
import { createBatchTap } from './batch-tap.ts';
import { contentCodings, decodingTap } from './decode.ts';
import { meteringError, rowOf, usageDetail, type ExchangeFacts, type ExchangeMeterDeps } from './rows.ts';

export type { ExchangeFacts, ExchangeMeterDeps } from './rows.ts';

const STREAMING = /text\/event-stream|application\/vnd\.amazon\.eventstream/i;

/**
 * The meter of one exchange. A stream gets a synchronous tap (each chunk is parsed right after
 * it was forwarded; the end of the body waits for the final commit). A whole body, usable only
 * once complete, gets a pass-through Transform whose last byte waits for the final commit.
 */
export function createExchangeMeter(deps: ExchangeMeterDeps, facts: ExchangeFacts, res: ResponseInfo): ResponseTap | Transform {
  const { route } = facts;
  // A batch's results file is a stream of finished requests, each committed as its line ends.
  const raw = route.api === 'batch-results' ? createBatchTap(deps, facts, route.source, res) : createExchangeTap(deps, facts, route, res);
  const tap = decodingTap(raw, contentCodings(res.headers['content-encoding']), (message) => meteringError(deps, facts, message));
  return route.api === 'batch-results' || STREAMING.test(String(res.headers['content-type'] ?? '')) ? tap : holdLastByte(tap);
}

function createExchangeTap(deps: ExchangeMeterDeps, facts: ExchangeFacts, route: MeterRoute, res: ResponseInfo): ResponseTap {
  const parser = createUsageParser(route, res, facts.requestModel);
  const { ledger } = deps;
  const failed = (err: unknown): void => meteringError(deps, facts, err);
  let latest: UsageSnapshot | undefined;
  let queued = false;
  let finished = false;

  const commit = (row: UsageUpdate): Promise<CommitResult> => ledger.commit(facts.exchangeId, row);

  // Partial rows as usage appears, written once the I/O at hand is handled (setImmediate) and
  // coalesced: a write takes whatever is latest then, and a body that ends meanwhile (usage
  // in its last events, as streams report it) is written once, final.
  const writePartial = (): void => {
    if (finished || !latest) return void (queued = false);
    const snap = latest;
    void commit(rowOf(deps, facts, snap, true, false))
      .catch(failed)
      .finally(() => {
        queued = false;
        if (!finished && latest !== snap) onSnapshot(latest!);
      });
  };
  const onSnapshot = (snap: UsageSnapshot): void => {
    latest = snap;
    if (queued || !snap.seen) return;
    queued = true;
    setImmediate(writePartial);
  };

  const finish = async (aborted: boolean, snap: UsageSnapshot | undefined): Promise<void> => {
    if (finished) return;
    finished = true;
    try {
      const ok = res.status >= 200 && res.status < 300;
      let row: UsageUpdate | undefined;
      if (snap?.seen) row = rowOf(deps, facts, snap, aborted || !snap.complete, false);
      else if (ok && !aborted) row = rowOf(deps, facts, snap ?? { provider: facts.route.provider, model: null, usage: emptyUsage(), seen: false, complete: false }, false, true);
      if (row) ledger.emit('ai.usage', usageDetail(facts, res.status, row, await commit(row)));
    } catch (err) {
      failed(err);
    } finally {
      deps.done();
    }
  };

  return {
    data(chunk) {
      let snap: UsageSnapshot | undefined;
      try {
        snap = parser.push(chunk);
      } catch {
        snap = undefined;
      }
      if (snap) onSnapshot(snap);
    },
    end() {
      let snap: UsageSnapshot | undefined;
      try {
        snap = parser.end();
      } catch {
        snap = latest;
      }
      return finish(false, snap);
    },
    // Cut short: keep what was seen, partial.
    abort: () => void finish(true, latest),
  };
}

/** A pass-through whose last byte waits for the tap's end (the final commit). */
function holdLastByte(tap: ResponseTap): Transform {
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      // Forward first: metering never delays a byte (but the held one).
      if (chunk.length > 0) {
        if (held) this.push(held);
        if (chunk.length > 1) this.push(chunk.subarray(0, chunk.length - 1));
        held = chunk.subarray(chunk.length - 1);
      }
      tap.data(chunk);
      cb();
    },
    flush(cb: TransformCallback) {
      void tap.end().then(() => cb(null, held));
    },
    destroy(err: Error | null, cb: (error: Error | null) => void) {
      tap.abort();
      cb(err);
    },
  });
}
