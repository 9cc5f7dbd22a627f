/**
 * A small fake internet for the learn-mode end-to-end test: one HTTPS and one HTTP server on
 * 127.0.0.1:0 answering for several names under different registrable domains (leaves from
 * a test CA, trusted by the gateway through `gateway.extra_ca_bundle`), with `github.com`
 * forwarded to a real `git http-backend` server. The operator config written to the
 * project directory maps every name there (`gateway.host_overrides`).
 */
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.ts';
import { createLeafCache, createSandboxCa } from '../../src/gateway/index.ts';
import { createBareRepo, startGitServer, type GitServer } from '../support/git-server.ts';

export const HTTPS_NAMES = ['api.alpha-example.com', 'x.gamma-example.co.uk', 'github.com', 'secret.delta-example.net'] as const;
export const HTTP_NAMES = ['cdn.beta-example.org', 'other.delta-example.net'] as const;

export interface FakeInternet {
  /** Text of km-config.yaml for the project directory. */
  config: string;
  /** The shell workload (see workload()). */
  workload: string;
  gitRoot: string;
  close(): Promise<void>;
}

const listen = (s: Server): Promise<number> =>
  new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

function hello(req: IncomingMessage, res: ServerResponse, scheme: string): void {
  const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from ${host} over ${scheme} ${req.url}\n`);
}

/** Passes a request on to the git server (plain HTTP on loopback). */
function toGit(git: GitServer, req: IncomingMessage, res: ServerResponse): void {
  const up = httpRequest({ host: '127.0.0.1', port: git.port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${git.port}` } }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

export async function startFakeInternet(dir: string): Promise<FakeInternet> {
  const gitRoot = join(dir, 'git');
  await createBareRepo(gitRoot, 'acme/app');
  await createBareRepo(gitRoot, 'acme/secret');
  const git = await startGitServer({ root: gitRoot });
  const ca = await createSandboxCa('fake-internet', systemClock);
  const leafs = createLeafCache(ca, { clock: systemClock });
  const contexts = new Map<string, SecureContext>();
  for (const n of HTTPS_NAMES) contexts.set(n, await leafs.getSecureContext(n));
  const https = createHttpsServer({ SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase())) }, (req, res) =>
    String(req.headers.host ?? '').startsWith('github.com') ? toGit(git, req, res) : hello(req, res, 'https'),
  );
  const http = createHttpServer((req, res) => hello(req, res, 'http'));
  const [httpsPort, httpPort] = [await listen(https), await listen(http)];
  const caFile = join(dir, 'fake-internet-ca.pem');
  await writeFile(caFile, ca.certPem);
  const overrides = [...HTTPS_NAMES.map((n) => `    ${n}: "127.0.0.1:${httpsPort}"`), ...HTTP_NAMES.map((n) => `    ${n}: "127.0.0.1:${httpPort}"`)];
  const config = ['gateway:', `  extra_ca_bundle: ${JSON.stringify(caFile)}`, '  upstream_dns: ["127.0.0.1:9"]', '  host_overrides:', ...overrides, ''].join('\n');
  return {
    config,
    workload: workload(ca.certPem),
    gitRoot,
    async close() {
      for (const s of [https, http]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      await git.close();
    },
  };
}

/**
 * The workload: three hosts under different registrable domains (one on a non-default
 * port as well), then clone acme/app from github.com and push a branch (a fast-forward
 * when the branch already exists). Prints one line per step.
 */
export function workload(caPem: string): string {
  return [
  'set -e',
  // The fake hosts' CA stands in for the public CAs real hosts chain to: trust it next to
  // the sandbox's own bundle (hosts that are not intercepted show the upstream's leaf).
  'cat "$CURL_CA_BUNDLE" > /tmp/trust.pem',
  `cat >> /tmp/trust.pem <<'PEM'\n${caPem.trim()}\nPEM`,
  'export CURL_CA_BUNDLE=/tmp/trust.pem GIT_SSL_CAINFO=/tmp/trust.pem SSL_CERT_FILE=/tmp/trust.pem',
  'curl -fsS https://api.alpha-example.com/v1/ping',
  'curl -fsS http://cdn.beta-example.org/asset.js',
  // "*" allows ports 80 and 443 only, so the learn sandbox is denied here; the denial is
  // recorded and the generated profile allows exactly this host:port.
  'echo "port 8080: $(curl -sS -o /dev/null -w "%{http_code}" http://cdn.beta-example.org:8080/asset.js)"',
  'curl -fsS https://x.gamma-example.co.uk/data.json',
  'rm -rf /tmp/app && git clone -q https://github.com/acme/app.git /tmp/app && cd /tmp/app',
  'if git rev-parse -q --verify origin/feature/learned >/dev/null; then git checkout -q -b feature/learned origin/feature/learned; else git checkout -q -b feature/learned; fi',
  'echo "run $$" >> notes.txt && git add notes.txt',
  'git -c user.name=Learner -c user.email=learner@example.invalid commit -qm "workload run"',
  'git push -q origin feature/learned',
  'echo workload-done',
  ].join('\n');
}
