/**
 * Usage is read from the body's bytes. The meter asks upstream for `Accept-Encoding: identity`,
 * but a provider (or an operator's LLM gateway) may compress anyway; then the tap reads a
 * decoded copy while the body itself is forwarded to the client untouched, still encoded.
 */
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { ResponseTap } from '../gateway/index.ts';

type Decoder = () => Transform;

/** zstd is in Node's zlib from 23.8; looked up so an older runtime reports it unsupported. */
const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;

const DECODERS: Record<string, Decoder | undefined> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  // createUnzip takes a zlib-wrapped stream (what `deflate` means) and gzip alike.
  deflate: () => zlib.createUnzip(),
  br: () => zlib.createBrotliDecompress(),
  ...(zstd ? { zstd: () => zstd() } : {}),
};

/** The codings of a Content-Encoding header in the order they were applied (identity dropped). */
export function contentCodings(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/**
 * `inner` fed with the decoded body of a response sent with `Content-Encoding: codings`.
 * An unknown coding or a corrupt body is reported through `onError`; `inner` then sees what
 * was decoded up to there (often nothing: the row says its usage is missing).
 */
export function decodingTap(inner: ResponseTap, codings: readonly string[], onError: (message: string) => void): ResponseTap {
  if (codings.length === 0) return inner;
  const unknown = codings.find((c) => !DECODERS[c]);
  if (unknown !== undefined) {
    const end = (): Promise<void> => {
      onError(`cannot read usage from a body with content-encoding ${unknown}`);
      return inner.end();
    };
    return { data: () => undefined, end, abort: () => inner.abort() };
  }
  // Applied first = removed last.
  const stages = [...codings].reverse().map((c) => DECODERS[c]!());
  for (let i = 0; i + 1 < stages.length; i++) stages[i]!.pipe(stages[i + 1]!);
  const first = stages[0]!;
  const last = stages[stages.length - 1]!;
  last.on('data', (c: Buffer) => inner.data(c));
  let failed = false;
  const finished = new Promise<void>((resolve) => {
    last.once('end', resolve);
    for (const s of stages) {
      s.once('error', (err: Error) => {
        if (!failed) (failed = true), onError(`cannot decode the ${codings.join(', ')} body: ${err.message}`);
        resolve();
      });
    }
  });
  return {
    data(chunk) {
      // Copied: zlib works on it after this returns.
      if (!failed) first.write(Buffer.from(chunk));
    },
    async end() {
      if (!failed) first.end();
      await finished;
      return inner.end();
    },
    abort() {
      for (const s of stages) s.destroy();
      inner.abort();
    },
  };
}
