/** Talking to kmd for the sandbox commands: start it on demand, plain and NDJSON requests. */
import { request as httpRequest } from 'node:http';
import { fromErrorBody, KmError, type ErrorBody } from '../core/errors.ts';
// Module files, not the daemon's index: that would load all of kmd into the CLI.
import type { DaemonClient } from '../daemon/client.ts';
import { ensureDaemon } from '../daemon/lifecycle.ts';
import type { Method } from '../daemon/index.ts';
import type { CommandContext } from './spec.ts';

export interface Kmd {
  client: DaemonClient;
  socketPath: string;
}

export async function kmd(ctx: CommandContext, stateDir: string): Promise<Kmd> {
  const d = await ensureDaemon({ env: ctx.env, stateDir, timeoutMs: 15_000 });
  return { client: d.client, socketPath: d.socketPath };
}

export type StreamLine = { type: string; [k: string]: unknown };

/**
 * A request whose response is NDJSON: every progress line goes to `onLine`; resolves with
 * the `result` line's value, rejects with the `error` line's KmError.
 */
export function streamRequest<T>(socketPath: string, method: Method, path: string, body: unknown, onLine: (l: StreamLine) => void): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = httpRequest({
      socketPath, method, path, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), accept: 'application/x-ndjson' },
    });
    req.once('error', (e: NodeJS.ErrnoException) =>
      reject(new KmError('daemon_unavailable', `lost the connection to kmd on ${socketPath} (${e.code ?? e.message})`, { hint: 'see km daemon status' })),
    );
    req.once('response', (res) => {
      let buf = '';
      let settled = false;
      const handle = (text: string) => {
        if (text.trim() === '') return;
        let line: StreamLine;
        try {
          line = JSON.parse(text) as StreamLine;
        } catch {
          return;
        }
        if (line.type === 'result') {
          settled = true;
          resolve(line.result as T);
        } else if (line.type === 'error') {
          settled = true;
          reject(fromErrorBody(line.error as ErrorBody));
        } else if (res.statusCode !== 200 && (line as { error?: ErrorBody }).error) {
          settled = true;
          reject(fromErrorBody((line as unknown as { error: ErrorBody }).error));
        } else onLine(line);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          handle(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      res.once('end', () => {
        handle(buf);
        if (!settled) reject(new KmError('daemon_unavailable', `kmd ended ${method} ${path} without a result`, { hint: 'see $KM_HOME/kmd.log' }));
      });
    });
    req.end(payload);
  });
}
