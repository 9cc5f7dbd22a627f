/** Keeps a bounded copy of a JSON response body for parsing at its end (the body itself streams on). */
export const MAX_JSON_COPY_BYTES = 16 * 1024 * 1024;

export interface JsonCollector {
  push(chunk: Uint8Array): void;
  /** The parsed document, or undefined when absent, too large or not JSON. */
  end(): unknown;
}

export function createJsonCollector(limit = MAX_JSON_COPY_BYTES): JsonCollector {
  const parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  return {
    push(chunk) {
      if (overflow) return;
      size += chunk.byteLength;
      if (size > limit) {
        overflow = true;
        parts.length = 0;
        return;
      }
      parts.push(Buffer.from(chunk));
    },
    end() {
      if (overflow || size === 0) return undefined;
      try {
        return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    },
  };
}
