/**
 * Process locks held by the kernel: a listening socket in the Linux abstract namespace.
 * The lock is released when its holder exits for any reason (including `kill -9`), so a
 * lock can never go stale. Names carry a random token kept in the state directory (mode
 * 0600 in a 0700 directory), so other users cannot squat them.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KmError } from '../core/errors.ts';

export type LockPurpose = 'kmd' | 'start';

export interface LockHandle {
  readonly name: string;
  release(): Promise<void>;
}

const TOKEN_FILE = 'kmd.lockid';

function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Creates the state directory (0700) and returns this install's lock token. */
export function lockToken(stateDir: string): string {
  const file = join(stateDir, TOKEN_FILE);
  let token = readToken(file);
  if (token === undefined) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // Written aside and linked into place, so a concurrent reader never sees a partial token.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, randomBytes(16).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
    token = readToken(file) ?? '';
  }
  if (!/^[0-9a-f]{32}$/.test(token)) {
    throw new KmError('invalid_state', `${file} is corrupt`, { hint: `remove ${file} while kmd is stopped` });
  }
  return token;
}

export const lockName = (stateDir: string, purpose: LockPurpose): string => `\0km-${purpose}-${lockToken(stateDir)}`;

/** The lock name without creating anything; undefined when no kmd ever ran here. */
export function existingLockName(stateDir: string, purpose: LockPurpose): string | undefined {
  try {
    const token = readFileSync(join(stateDir, TOKEN_FILE), 'utf8').trim();
    return /^[0-9a-f]{32}$/.test(token) ? `\0km-${purpose}-${token}` : undefined;
  } catch {
    return undefined;
  }
}

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => sock.destroy());
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen({ path: name }, () => {
      server.unref();
      resolve(server);
    });
  });
}

export async function tryAcquire(name: string): Promise<LockHandle | undefined> {
  const server = await listen(name);
  if (!server) return undefined;
  let released = false;
  return {
    name,
    release: () =>
      new Promise<void>((resolve) => {
        if (released) return resolve();
        released = true;
        server.close(() => resolve());
      }),
  };
}

export async function acquire(name: string, timeoutMs: number, what: string): Promise<LockHandle> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = await tryAcquire(name);
    if (lock) return lock;
    if (Date.now() >= deadline) {
      throw new KmError('timeout', `timed out after ${timeoutMs} ms waiting for ${what}`, {
        hint: 'another km process is holding it; wait for it to finish and retry',
      });
    }
    await sleep(25);
  }
}

/** True when some process holds the lock (probed by connecting, never by taking it). */
export function isHeld(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ path: name });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}
