/** Helpers for the lifecycle end-to-end tests: a temp KM_HOME, bin/km runs, a fake upstream. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { localSubstrateAvailability } from '../../src/substrate/index.ts';

export const KM = resolve(import.meta.dirname, '../../bin/km');
export const UPSTREAM_BODY = 'hello from the loopback upstream\n';

export interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Env {
  home: string;
  dir: string;
  upstreamPort: number;
  env: NodeJS.ProcessEnv;
  km(args: string[], extraEnv?: NodeJS.ProcessEnv, stdin?: string): Promise<Out>;
  json<T>(args: string[]): Promise<T>;
}

/**
 * Why programs of this checkout (node, node_modules/.bin/claude) cannot run inside a sandbox,
 * or null: sandboxes see the host root, but /tmp, /home, /root and /run are their own, so a
 * checkout under one of those is hidden from them by design.
 */
export function checkoutHiddenInSandboxes(): string | null {
  const root = resolve(import.meta.dirname, '../..');
  const hidden = ['/tmp', '/home', '/root', '/run'].find((d) => root === d || root.startsWith(`${d}/`));
  return hidden ? `this checkout (${root}) is under ${hidden}, which sandboxes do not see; run from a checkout elsewhere` : null;
}

/** Why local sandboxes cannot run here, or null. */
export function cannotRunSandboxes(): string | null {
  const a = localSubstrateAvailability();
  return a.ok ? null : a.reason;
}

/** Runs bin/km with exactly this environment and directory, `stdin` (default none) as its input. */
export function runKm(args: string[], env: NodeJS.ProcessEnv, cwd: string, stdin = ''): Promise<Out> {
  return new Promise((done, reject) => {
    const child = spawn(KM, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Test teardown: every sandbox destroyed (unlocked first), then kmd stopped. */
export async function destroyAllAndStop(km: (args: string[]) => Promise<Out>): Promise<void> {
  const list = await km(['list', '--json']).catch(() => undefined);
  const items = list && list.code === 0 ? (JSON.parse(list.stdout) as Array<{ id: string; locked: boolean }>) : [];
  for (const s of items) {
    if (s.locked) await km(['unlock', s.id]);
    await km(['destroy', s.id, '--yes']);
  }
  await km(['daemon', 'stop']);
}

/** bin/km in `home` (also its KM_HOME and working directory) with no inherited KM_ variables, UTC, no colour. */
export function kmAtHome(home: string, args: string[], stdin?: string): Promise<Out> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KM_')));
  return runKm(args, { ...clean, KM_HOME: home, NO_COLOR: '1', TZ: 'UTC', KM_TIMEZONE: 'UTC' }, home, stdin);
}

/**
 * A temp KM_HOME with a fake upstream on 127.0.0.1:0 reachable as `allowed.test` and
 * `denied.test` (host overrides). Destroys every sandbox and stops kmd afterwards.
 */
export async function lifecycleEnv(t: TestContext): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'km-e2e-lc-'));
  const home = join(dir, 'home');
  const upstream: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(req.url === '/' ? UPSTREAM_BODY : `path ${req.url}\n`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KM_HOME: home,
    NO_COLOR: '1',
    TZ: 'UTC',
    KM_GATEWAY_HOST_OVERRIDES: `allowed.test=127.0.0.1:${port},denied.test=127.0.0.1:${port}`,
    KM_GATEWAY_UPSTREAM_DNS: '127.0.0.1:9',
  };
  const km = (args: string[], extra: NodeJS.ProcessEnv = {}, stdin?: string) => runKm(args, { ...env, ...extra }, dir, stdin);
  t.after(async () => {
    await destroyAllAndStop((args) => km(args));
    await new Promise<void>((r) => upstream.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    home, dir, upstreamPort: port, env, km,
    async json<T>(args: string[]) {
      const o = await km([...args, '--json']);
      if (o.code !== 0) throw new Error(`km ${args.join(' ')} exited ${o.code}: ${o.stderr}`);
      return JSON.parse(o.stdout) as T;
    },
  };
}

export interface SandboxJson {
  id: string;
  alias: string | null;
  number: number;
  status: string;
  status_reason: string | null;
  paused_by: string | null;
  expires_at: string | null;
  ttl_remaining_s: number | null;
  locked: boolean;
  cloned_from: string | null;
  profile: string;
  [k: string]: unknown;
}
