/**
 * `km shell --ports H:S[,H:S…]` (SPEC §8.8): while the shell is open, host 127.0.0.1:H
 * forwards to port S inside the sandbox. Each accepted connection runs
 * `socat STDIO TCP:127.0.0.1:S` in the sandbox (as the sandbox user, through the substrate's
 * exec, so it is inside the sandbox's namespaces and cgroup) and pipes the socket through it.
 * The listeners bind loopback only; they are closed with the shell.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { KmError } from '../core/errors.ts';
import type { Substrate } from '../substrate/index.ts';

export interface PortMapping {
  host: number;
  sandbox: number;
}

const port = (text: string, whole: string): number => {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new KmError('usage', `--ports ${whole}: "${text}" is not a port (1-65535)`, { hint: 'e.g. --ports 8080:80,5432' });
  }
  return Number(text);
};

/** `8080:80,5432` → [{host: 8080, sandbox: 80}, {host: 5432, sandbox: 5432}]. */
export function parsePorts(text: string): PortMapping[] {
  const out: PortMapping[] = [];
  for (const item of text.split(',')) {
    const parts = item.trim().split(':');
    if (parts.length > 2 || parts[0] === '') throw new KmError('usage', `--ports ${text}: "${item}" is not H:S or a port`, { hint: 'e.g. --ports 8080:80,5432' });
    const host = port(parts[0] as string, text);
    out.push({ host, sandbox: parts.length === 2 ? port(parts[1] as string, text) : host });
  }
  const dup = out.find((m, i) => out.findIndex((o) => o.host === m.host) !== i);
  if (dup) throw new KmError('usage', `--ports ${text}: host port ${dup.host} is given twice`);
  return out;
}

export interface PortForwards {
  /** The bound host ports, in mapping order. */
  readonly ports: number[];
  close(): Promise<void>;
}

export interface ForwardDeps {
  substrate: Substrate;
  sandboxId: string;
  /** Called on traffic (the idle clock). */
  activity: () => void;
  /** One-line problems (a missing socat in the sandbox, a refused connection). */
  warn: (line: string) => void;
}

function relay(deps: ForwardDeps, sock: Socket, target: number, live: Set<Socket>): void {
  live.add(sock);
  sock.on('close', () => live.delete(sock));
  sock.on('error', () => undefined);
  sock.pause();
  deps.substrate
    .exec(deps.sandboxId, ['socat', 'STDIO', `TCP:127.0.0.1:${target}`], { stdio: ['pipe', 'pipe', 'pipe'] })
    .then((h) => {
      let err = '';
      h.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      h.stdin?.on('error', () => undefined);
      sock.on('data', deps.activity);
      if (h.stdin) sock.pipe(h.stdin);
      h.stdout?.pipe(sock);
      sock.resume();
      sock.on('close', () => h.kill('SIGTERM'));
      void h.exit.then((code) => {
        if (code === 127) deps.warn(`--ports: socat is not installed in the sandbox; cannot forward to port ${target}`);
        else if (code !== 0 && /refused/i.test(err)) deps.warn(`--ports: nothing listens on port ${target} in the sandbox`);
        sock.end();
      });
    })
    .catch((e: unknown) => {
      deps.warn(`--ports: ${(e as Error).message}`);
      sock.destroy();
    });
}

function listen(server: Server, hostPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'is in use' : e.code === 'EACCES' ? 'needs privileges' : e.message;
      reject(new KmError('usage', `--ports: 127.0.0.1:${hostPort} ${why}`, { hint: 'pick another host port, e.g. --ports 18080:80' }));
    });
    server.listen(hostPort, '127.0.0.1', () => resolve(hostPort));
  });
}

export async function startPortForwards(deps: ForwardDeps, mappings: readonly PortMapping[]): Promise<PortForwards> {
  const servers: Server[] = [];
  const live = new Set<Socket>();
  const close = async (): Promise<void> => {
    for (const s of live) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    for (const m of mappings) {
      const server = createServer((sock) => relay(deps, sock, m.sandbox, live));
      await listen(server, m.host);
      servers.push(server);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { ports: mappings.map((m) => m.host), close };
}
