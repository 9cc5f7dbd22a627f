/**
 * Private mail keys on the host (SPEC §12.1): one JSON file per identity, mode 0600, in kmd's
 * own key directory (`$KM_HOME/keys/<id>`, 0700, beside the sandbox CA key; never mounted into
 * the sandbox and not owned by the sandbox's host uid) or, for the operator,
 * `$KM_HOME/operator`. kmd uses them on the identity's behalf.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmError } from '../core/errors.ts';
import type { IdentityKeys } from '../mail/index.ts';

export const KEYS_FILE = 'km-mail-keys.json';

/** Where an identity's keys live under `kmHome`. */
export const identityKeysDir = (kmHome: string, id: string): string => (id === 'operator' ? join(kmHome, 'operator') : join(kmHome, 'keys', id));

export function writeIdentityKeys(dir: string, keys: IdentityKeys): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, KEYS_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(keys), { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * The identity's keys: the existing file, or new keys written atomically and exclusively
 * (hard link of a complete temp file), so two processes provisioning at once end up with
 * the same keys.
 */
export function loadOrCreateIdentityKeys(dir: string, id: string, generate: () => IdentityKeys): IdentityKeys {
  const path = join(dir, KEYS_FILE);
  if (existsSync(path)) return readIdentityKeys(dir, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, JSON.stringify(generate()), { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readIdentityKeys(dir, id);
}

export function readIdentityKeys(dir: string, id: string): IdentityKeys {
  const path = join(dir, KEYS_FILE);
  if (!existsSync(path)) throw new KmError('not_found', `no mail keys for ${id} (expected ${path})`, { hint: 'the identity was removed or never provisioned' });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as IdentityKeys;
  } catch (e) {
    throw new KmError('failed', `cannot read the mail keys of ${id} at ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export const hasIdentityKeys = (dir: string): boolean => existsSync(join(dir, KEYS_FILE));

export function removeIdentityKeys(dir: string): void {
  rmSync(join(dir, KEYS_FILE), { force: true });
}
