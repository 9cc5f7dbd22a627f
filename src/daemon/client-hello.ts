/**
 * The first frame of a native-CLI session (native/km-client.c): the client's argv, working
 * directory, environment, uid and installation, and the checks that kmd may serve it at all.
 * kmd serves only a client that the Node CLI would treat exactly as kmd itself would: the same
 * user, the same installation (so the same code), the same state directory. Anything else is
 * refused and the client runs the Node CLI instead.
 */
import { isAbsolute } from 'node:path';
import { resolveStateDir } from '../config/paths.ts';
import { decodeList, decodeText, envOfList, type Frame } from './frames.ts';

/** How long kmd waits for a session's first frame before it drops the connection. */
export const HELLO_TIMEOUT_MS = 10_000;

export interface ClientHello {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  uid: number;
  /** The client's installation root, with a trailing slash (as INSTALL_ROOT). */
  install: string;
}

export interface HostIdentity {
  stateDir: string;
  installRoot: string;
  uid: number;
  /**
   * The installation's version now (its package.json) when kmd's own differs, else null: the
   * Node CLI would restart such a kmd (daemon/lifecycle.ts), so it must not answer for it.
   */
  staleVersion: () => string | null;
}

export function parseHello(f: Frame): ClientHello | null {
  const argv = decodeList(f.argv);
  const environ = decodeList(f.environ);
  const cwd = decodeText(f.cwd);
  const install = decodeText(f.install);
  if (argv === null || environ === null || cwd === null || install === null || !Number.isInteger(f.uid)) return null;
  return { argv, env: envOfList(environ), cwd, uid: f.uid as number, install };
}

/** Why kmd must not serve this client (it falls back to the Node CLI), or null. */
export function notServed(c: ClientHello, self: HostIdentity): string | null {
  if (c.uid !== self.uid) return 'the client runs as another user';
  if (c.install !== self.installRoot) return 'the client belongs to another installation';
  const stale = self.staleVersion();
  if (stale !== null) return `the installation is version ${stale}; kmd is another`;
  if (!isAbsolute(c.cwd)) return 'the client sent no absolute working directory';
  const kmHome = c.env.KM_HOME;
  // A relative KM_HOME resolves against the caller's cwd; the config code resolves it against the process's.
  if (kmHome !== undefined && kmHome !== '' && !isAbsolute(kmHome)) return 'KM_HOME is relative';
  // Without HOME, the Node CLI falls back to its own passwd-derived home, kmd to its own HOME.
  if (c.env.HOME === undefined || c.env.HOME === '') return 'HOME is not set';
  if (resolveStateDir(c.env) !== self.stateDir) return 'the client uses another state directory';
  return null;
}
