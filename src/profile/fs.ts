/**
 * The one I/O module of the profile domain: a `ProfileReader` over the real file system.
 * Files over the YAML size limit are refused from their size alone (never read), and
 * only regular files are read (a FIFO or device would block or never end).
 */
import { openSync, readSync, closeSync, statSync, type Stats } from 'node:fs';
import { MAX_YAML_BYTES } from '../core/yaml-doc.ts';
import type { ProfileReader } from './graph.ts';

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new Error(`cannot read: ${(e as Error).message}`);
  }
}

export function createFsReader(): ProfileReader {
  return {
    isDirectory(path) {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    read(path) {
      const st = statOf(path);
      if (st === undefined) return undefined;
      if (!st.isFile()) throw new Error('is not a regular file; give a profile file (.yaml)');
      if (st.size > MAX_YAML_BYTES) throw new Error(`file is ${st.size} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)`);
      const buf = Buffer.alloc(MAX_YAML_BYTES + 1);
      let fd: number | undefined;
      try {
        fd = openSync(path, 'r');
        let n = 0;
        while (n < buf.length) {
          const r = readSync(fd, buf, n, buf.length - n, null);
          if (r === 0) break;
          n += r;
        }
        return new Uint8Array(buf.buffer, buf.byteOffset, n);
      } catch (e) {
        throw new Error(`cannot read: ${(e as Error).message}`);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
  };
}
