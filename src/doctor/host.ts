/** The real filesystem probes behind `HostProbe`. */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, realpath, rm, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostProbe } from './types.ts';

export const realHost: HostProbe = {
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  async exists(path) {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  },
  async writable(path) {
    try {
      await access(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  async executable(path) {
    try {
      await access(path, constants.X_OK);
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  },
  async realPath(path) {
    return realpath(path).catch(() => undefined);
  },
  async writeProbe(dir) {
    const file = join(dir, `.km-doctor-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(file, 'ok', { flag: 'wx', mode: 0o600 });
      await unlink(file);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  },
  async stat(path) {
    try {
      const s = await stat(path);
      return { mode: s.mode & 0o7777, uid: s.uid };
    } catch {
      return undefined;
    }
  },
  async freeBytes(path) {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  },
  makeTempDir: (parent) => mkdtemp(join(parent ?? tmpdir(), '.km-doctor-')),
  removeDir: (path) => rm(path, { recursive: true, force: true }),
};
