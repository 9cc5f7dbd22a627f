/**
 * The OTLP/HTTP receiver (SPEC §13.4): `POST /v1/logs|metrics|traces` with
 * `application/x-protobuf` or `application/json`, optionally gzip, at most 4 MiB per
 * request (compressed and decompressed). The sandbox is given by the caller (the socket the
 * request arrived on), never read from the payload. Records are redacted before storing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Redactor } from '../audit/index.ts';
import type { Clock } from '../core/clock.ts';
import type { TelemetrySignal, TelemetryStore } from '../store/index.ts';
import { flatten } from './normalise.ts';
import { decodeLogs, decodeMetrics, decodeTraces } from './otlp-proto.ts';

export const OTLP_MAX_BYTES = 4 * 1024 * 1024;

export class OtlpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface OtlpReceiverDeps {
  store: TelemetryStore;
  redactor: Redactor;
  clock: Clock;
  maxBytes?: number;
}

export interface OtlpReceiver {
  /** Decodes, redacts and stores one request body; returns the number of records kept. */
  ingest(sandboxId: string, signal: TelemetrySignal, body: Buffer, contentType: string, contentEncoding?: string): Promise<number>;
  /** Serves one HTTP request (body not yet read) for `signal`. */
  handle(sandboxId: string, signal: TelemetrySignal, req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const DECODERS = { logs: decodeLogs, metrics: decodeMetrics, traces: decodeTraces } as const;

export const signalOfPath = (path: string): TelemetrySignal | undefined =>
  path === '/v1/logs' ? 'logs' : path === '/v1/metrics' ? 'metrics' : path === '/v1/traces' ? 'traces' : undefined;

function mediaType(contentType: string): 'protobuf' | 'json' {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf';
  if (t === 'application/json') return 'json';
  throw new OtlpError(415, `unsupported content type "${t}": send application/x-protobuf or application/json`);
}

function decompress(body: Buffer, encoding: string | undefined, max: number): Buffer {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  try {
    if (enc === 'gzip') return gunzipSync(body, { maxOutputLength: max });
    if (enc === 'deflate') return inflateSync(body, { maxOutputLength: max });
  } catch (e) {
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|too large/i.test((e as Error).message);
    throw new OtlpError(tooBig ? 413 : 400, tooBig ? `request is larger than ${max} bytes once decompressed` : `cannot decompress the ${enc} body`);
  }
  throw new OtlpError(415, `unsupported content encoding "${enc}": use gzip or none`);
}

export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return reject(new OtlpError(413, `request is larger than ${max} bytes`));
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new OtlpError(413, `request is larger than ${max} bytes`));
      } else parts.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(parts)));
    req.once('error', reject);
  });
}

export function createOtlpReceiver(deps: OtlpReceiverDeps): OtlpReceiver {
  const max = deps.maxBytes ?? OTLP_MAX_BYTES;
  const ingest: OtlpReceiver['ingest'] = async (sandboxId, signal, body, contentType, contentEncoding) => {
    const kind = mediaType(contentType);
    const raw = decompress(body, contentEncoding, max);
    let doc: unknown;
    try {
      doc = kind === 'protobuf' ? DECODERS[signal](raw) : raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new OtlpError(400, `cannot decode the ${kind} ${signal} payload: ${(e as Error).message}`);
    }
    const now = deps.clock.now();
    const records = flatten(signal, doc, now).map((r) => ({
      sandboxId,
      signal,
      timestampMs: r.timestampMs,
      receivedAtMs: now,
      name: deps.redactor.redactString(r.name),
      data: deps.redactor.redactValue(r.data),
    }));
    return deps.store.appendTelemetry(records);
  };
  return {
    ingest,
    async handle(sandboxId, signal, req, res) {
      const json = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
      try {
        if (req.method !== 'POST') throw new OtlpError(405, 'use POST');
        const body = await readBody(req, max);
        await ingest(sandboxId, signal, body, String(req.headers['content-type'] ?? ''), req.headers['content-encoding']);
        if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        else res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
      } catch (e) {
        const status = e instanceof OtlpError ? e.status : 500;
        const message = e instanceof OtlpError ? e.message : 'internal error storing telemetry';
        res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ code: status === 500 ? 13 : 3, message }));
      }
    },
  };
}
