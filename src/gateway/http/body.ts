/**
 * Request-body handling for the exchange hook's rewrite: read at most a bounded prefix;
 * if the whole body fits it can be replaced, otherwise the prefix and the rest are sent on
 * unchanged (no buffering beyond the bound).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

export type BoundedBody = { complete: true; body: Buffer } | { complete: false; stream: Readable };

export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  const cl = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (cl !== undefined && Number(cl) > 0);
}

export function readBounded(src: Readable, max: number): Promise<BoundedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (size <= max) return;
      cleanup();
      src.pause();
      const out = new PassThrough();
      for (const b of chunks) out.write(b);
      src.on('error', (e) => out.destroy(e));
      src.pipe(out);
      resolve({ complete: false, stream: out });
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ complete: true, body: Buffer.concat(chunks) });
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    src.on('data', onData);
    src.once('end', onEnd);
    src.once('error', onError);
  });
}

/** Raw headers with any framing replaced by a fixed content-length. */
export function withContentLength(raw: string[], length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (k === 'content-length' || k === 'transfer-encoding') continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  out.push('content-length', String(length));
  return out;
}
