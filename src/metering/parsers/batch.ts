/**
 * Batch results (SPEC §6.1, "other endpoints … metered when their JSON carries usage"): the
 * requests of an Anthropic Message Batch or an OpenAI batch are billed when they run, and
 * their usage is only ever seen in the results file, one JSON line per request:
 * - Anthropic `GET /v1/messages/batches/{id}/results`:
 *   `{"custom_id","result":{"type":"succeeded","message":{"model","usage"}}}`;
 * - OpenAI `GET /v1/files/{id}/content` of a batch's output file:
 *   `{"id":"batch_req_…","custom_id","response":{"status_code":200,"body":{"model","usage"}}}`.
 * Each succeeded line becomes one result with a key stable across downloads (the ledger row's
 * exchange id), so fetching the same results twice never counts them twice. Other lines
 * (errored, canceled, expired requests; an input file's request lines) carry no usage.
 */
import { applyAnthropicUsage } from './anthropic.ts';
import { MAX_JSON_COPY_BYTES } from './json-body.ts';
import { applyOpenAiUsage } from './openai.ts';
import { emptyUsage, isRecord, type Provider, type TokenUsage } from './types.ts';

export type BatchSource = { provider: 'anthropic'; batchId: string } | { provider: 'openai'; fileId: string };

export interface BatchResult {
  /** Stable per request of the batch: `batch:<batch id>:<custom_id>` or `batch:<batch_req id>`. */
  key: string;
  customId: string | null;
  provider: Provider;
  model: string | null;
  usage: TokenUsage;
}

export interface BatchResultsParser {
  /** The results completed by this chunk. */
  push(chunk: Uint8Array): BatchResult[];
  /** The last line (a file need not end with a line feed). */
  end(): BatchResult[];
  /** Lines longer than the bound: not parsed (their usage is reported missing). */
  oversized(): number;
}

const NL = 0x0a;
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** One results line → its result, or undefined for a line without billed usage. */
export function batchResultOf(source: BatchSource, line: unknown): BatchResult | undefined {
  if (!isRecord(line)) return undefined;
  const customId = str(line.custom_id);
  const usage = emptyUsage();
  if (source.provider === 'anthropic') {
    const result = line.result;
    if (!isRecord(result) || result.type !== 'succeeded' || !isRecord(result.message) || customId === null) return undefined;
    if (!isRecord(result.message.usage)) return undefined;
    applyAnthropicUsage(usage, result.message.usage);
    return { key: `batch:${source.batchId}:${customId}`, customId, provider: 'anthropic', model: str(result.message.model), usage };
  }
  const response = line.response;
  if (!isRecord(response) || !isRecord(response.body)) return undefined;
  if (typeof response.status_code === 'number' && (response.status_code < 200 || response.status_code >= 300)) return undefined;
  if (!applyOpenAiUsage(usage, response.body.usage)) return undefined;
  const id = str(line.id);
  if (id === null && customId === null) return undefined;
  return { key: id !== null ? `batch:${id}` : `batch:${source.fileId}:${customId}`, customId, provider: 'openai', model: str(response.body.model), usage };
}

export function createBatchResultsParser(source: BatchSource, maxLineBytes = MAX_JSON_COPY_BYTES): BatchResultsParser {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  let oversized = 0;
  const out: BatchResult[] = [];

  const finishLine = (): void => {
    const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    size = 0;
    if (skipping) return void (skipping = false);
    if (line.length === 0) return;
    let doc: unknown;
    try {
      doc = JSON.parse(line.toString('utf8'));
    } catch {
      return;
    }
    const r = batchResultOf(source, doc);
    if (r) out.push(r);
  };
  const take = (piece: Buffer): void => {
    if (skipping || piece.length === 0) return;
    if (size + piece.length > maxLineBytes) {
      skipping = true;
      oversized++;
      parts = [];
      size = 0;
      return;
    }
    parts.push(piece);
    size += piece.length;
  };
  const drain = (): BatchResult[] => out.splice(0, out.length);

  return {
    push(chunk) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let from = 0;
      for (let nl = buf.indexOf(NL, from); nl >= 0; nl = buf.indexOf(NL, from)) {
        take(buf.subarray(from, nl));
        finishLine();
        from = nl + 1;
      }
      // Copied: the gateway may reuse the chunk's memory once this returns.
      if (from < buf.length) take(Buffer.from(buf.subarray(from)));
      return drain();
    },
    end() {
      if (size > 0 || skipping) finishLine();
      return drain();
    },
    oversized: () => oversized,
  };
}
