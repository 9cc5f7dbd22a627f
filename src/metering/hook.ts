/**
 * The gateway's asynchronous exchange hook (the contract between the HTTP proxy and
 * metering). The proxy awaits the hook for every intercepted request before dialling
 * upstream, then:
 * - `deny`: answers with it and sends nothing upstream;
 * - `rewriteRequestBody`: reads the (small, JSON) request body — at most
 *   `MAX_REWRITE_BODY_BYTES`, larger bodies are forwarded unchanged — and sends the returned
 *   buffer instead (with a fixed `content-length`), or the original when it returns undefined;
 * - `identityEncoding`: asks upstream for an uncompressed body (Accept-Encoding: identity);
 * - `response`: called with the upstream response's status and headers; a returned Transform
 *   sits in the response pipe (chunks are passed through as they arrive; its flush may delay
 *   the last bytes until the ledger is committed), a returned `ResponseTap` sees each chunk
 *   right after it was forwarded, and the end of the body waits for its `end()`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import type { GatewayHooks, ResponseTap } from '../gateway/index.ts';

/** Request bodies larger than this are never buffered for a rewrite (the gateway's bound). */
export { MAX_REWRITE_BODY_BYTES } from '../gateway/index.ts';

export interface ExchangeHookInfo {
  host: string;
  method: string;
  /** Including the query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** User part of the client's Proxy-Authorization (the agent run), when given. */
  runId: string | null;
  interceptReason: string | null;
}

export interface ExchangeHook {
  /** Refuse before anything reaches upstream. */
  deny?: { status: number; headers: Record<string, string>; body: Buffer };
  /** e.g. adding `stream_options.include_usage`; undefined keeps the body as it is. */
  rewriteRequestBody?: (body: Buffer) => Buffer | undefined;
  /** Ask upstream for the body uncompressed: usage is read from its bytes. */
  identityEncoding?: boolean;
  response?: (res: { status: number; headers: IncomingHttpHeaders }) => Transform | ResponseTap | undefined;
}

export type ExchangeHookFn = (info: ExchangeHookInfo) => Promise<ExchangeHook | undefined>;

/** Compile-time proof that the meter's hook fits the gateway's `hooks.exchange` slot. */
type Fits<T extends NonNullable<GatewayHooks['exchange']>> = T;
export type MeterHookFitsGateway = Fits<ExchangeHookFn>;
