/**
 * A `ProfileReader` over an in-memory map of absolute path → text, for tests and for
 * callers that hold profile text already (e.g. a learned profile before it is written).
 */
import type { ProfileReader } from './graph.ts';

export function createMemoryReader(files: Readonly<Record<string, string | Uint8Array>>): ProfileReader {
  return {
    read(path) {
      const v = files[path];
      if (v === undefined) return undefined;
      return typeof v === 'string' ? new TextEncoder().encode(v) : v;
    },
    isDirectory(path) {
      const prefix = path.endsWith('/') ? path : `${path}/`;
      return Object.keys(files).some((f) => f.startsWith(prefix));
    },
  };
}
