/**
 * The durable position of a notifier in the event log: the sequence number of the last event
 * it handled, in a small file under `$KM_HOME/notify/`. Written with write-then-rename, so a
 * crash leaves either the old or the new value, never a torn one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface NotifyCursor {
  /** The stored position; `undefined` when none was stored yet, `'invalid'` when the file is unreadable as one. */
  read(): Promise<number | undefined | 'invalid'>;
  write(seq: number): Promise<void>;
}

export function fileCursor(path: string): NotifyCursor {
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      const t = text.trim();
      return /^\d{1,15}$/.test(t) ? Number(t) : 'invalid';
    },
    async write(seq) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${seq}\n`, { mode: 0o600 });
      await rename(tmp, path);
    },
  };
}
