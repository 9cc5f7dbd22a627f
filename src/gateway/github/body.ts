/**
 * Reading the start of a request body without losing it: every raw chunk read is kept so
 * the forwarded body can replay it byte for byte, followed by the rest of the stream.
 * A `Content-Encoding: gzip` body is inflated for inspection only; the raw bytes are what
 * gets forwarded.
 */
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';

/** The next chunk of `s`, or null at its end. Leaves the stream paused. */
export function nextChunk(s: Readable): Promise<Buffer | null> {
  const c = s.read() as Buffer | string | null;
  if (c !== null) return Promise.resolve(typeof c === 'string' ? Buffer.from(c) : c);
  if (s.readableEnded) return Promise.resolve(null);
  if (s.errored) return Promise.reject(s.errored);
  if (s.destroyed) return Promise.reject(new Error('request body closed before its end'));
  return new Promise((resolve, reject) => {
    const done = (): void => {
      s.off('readable', onReadable);
      s.off('end', onEnd);
      s.off('error', onError);
      s.off('close', onClose);
    };
    const onReadable = (): void => { done(); nextChunk(s).then(resolve, reject); };
    const onEnd = (): void => { done(); resolve(null); };
    const onError = (e: Error): void => { done(); reject(e); };
    const onClose = (): void => { done(); s.readableEnded ? resolve(null) : reject(new Error('request body closed before its end')); };
    s.on('readable', onReadable);
    s.on('end', onEnd);
    s.on('error', onError);
    s.on('close', onClose);
  });
}

/** An append-only byte buffer with amortised growth. */
class GrowBuffer {
  #buf = Buffer.alloc(0);
  #len = 0;
  append(chunk: Buffer): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + chunk.length, 16384));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    chunk.copy(this.#buf, this.#len);
    this.#len += chunk.length;
  }
  get length(): number {
    return this.#len;
  }
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

export interface BodyReader {
  /** Decoded bytes read so far (a view; do not keep across `more()`). */
  decoded(): Buffer;
  /** Raw bytes read so far. */
  rawLength(): number;
  /** True once the whole body has been read and decoded. */
  ended(): boolean;
  /** Reads one more raw chunk (and decodes it). Throws on a stream or gzip error. */
  more(): Promise<void>;
  /** A stream that replays the raw bytes read so far, then the rest of the body. */
  replay(): Readable;
  /** Discards the rest of the body (after a refusal). */
  discard(): void;
}

function gunzipInto(out: GrowBuffer): { gz: Gunzip; write(c: Buffer): Promise<void>; end(): Promise<void> } {
  const gz = createGunzip();
  let failure: Error | null = null;
  const onFailure: Array<() => void> = [];
  gz.on('data', (d: Buffer) => out.append(d));
  gz.on('error', (e) => {
    failure = e;
    for (const f of onFailure.splice(0)) f();
  });
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r)).then(() => {
    if (failure !== null) throw failure;
  });
  return {
    gz,
    // A write whose chunk fails to inflate may never call back: settle on the error instead.
    write: (c) => new Promise<void>((resolve) => {
      if (failure !== null) return resolve();
      onFailure.push(resolve);
      gz.write(c, () => {
        const i = onFailure.indexOf(resolve);
        if (i !== -1) onFailure.splice(i, 1);
        resolve();
      });
    }).then(settle),
    end: () => new Promise<void>((resolve) => {
      if (failure !== null) return resolve();
      gz.once('end', () => resolve());
      gz.once('error', () => resolve());
      gz.end();
    }).then(settle),
  };
}

export function createBodyReader(body: Readable, gzip: boolean): BodyReader {
  const raw: Buffer[] = [];
  let rawLen = 0;
  const decoded = new GrowBuffer();
  const inflater = gzip ? gunzipInto(decoded) : null;
  let ended = false;
  return {
    decoded: () => decoded.view(),
    rawLength: () => rawLen,
    ended: () => ended,
    async more() {
      if (ended) return;
      const chunk = await nextChunk(body);
      if (chunk === null) {
        if (inflater !== null) await inflater.end();
        ended = true;
        return;
      }
      raw.push(chunk);
      rawLen += chunk.length;
      if (inflater !== null) await inflater.write(chunk);
      else decoded.append(chunk);
    },
    replay() {
      const consumed = raw.slice();
      const rest = ended || body.readableEnded ? null : body;
      return Readable.from(
        (async function* () {
          yield* consumed;
          // If the consumer stops early, leave the request stream to its owner (no destroy).
          if (rest !== null) yield* rest.iterator({ destroyOnReturn: false });
        })(),
        { objectMode: false },
      );
    },
    discard() {
      inflater?.gz.destroy();
      if (!body.readableEnded) body.resume();
    },
  };
}
