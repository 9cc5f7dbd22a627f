/**
 * Upgraded connections on kmd's socket (`GET <path>` with `Connection: Upgrade`): the native
 * CLI's sessions (exec-host.ts, cli-host.ts). kmd answers `101 Switching Protocols` and hands
 * the socket to the path's handler; any other path gets a 404 and the connection closes. A
 * handler that throws or rejects loses only its own connection, never the daemon. Sessions are
 * tracked so that shutdown can end them: the HTTP server does not count an upgraded socket as
 * one of its connections, yet would wait for it to close.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Router } from './router.ts';
import type { DaemonLog } from './service.ts';

export interface UpgradeDeps {
  router: Router;
  log: DaemonLog;
  /** Every open session (server.ts destroys what is left when the shutdown grace ends). */
  sessions: Set<Duplex>;
}

const PROTOCOL = /^[A-Za-z0-9._-]{1,64}$/;

export function dispatchUpgrade(deps: UpgradeDeps, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // A client that goes away mid-write must not surface as an unhandled 'error'.
  socket.on('error', () => undefined);
  const path = new URL(req.url ?? '/', 'http://kmd').pathname;
  const protocol = String(req.headers.upgrade ?? '');
  const handler = req.method === 'GET' && PROTOCOL.test(protocol) ? deps.router.upgradeFor(path) : undefined;
  if (handler === undefined) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  deps.sessions.add(socket);
  socket.once('close', () => deps.sessions.delete(socket));
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${protocol}\r\n\r\n`);
  const failed = (e: unknown): void => {
    deps.log('error', 'upgraded session failed', { route: path, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    socket.destroy();
  };
  try {
    Promise.resolve(handler({ req, socket, head })).catch(failed);
  } catch (e) {
    failed(e);
  }
}
