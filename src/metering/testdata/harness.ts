/**
 * Test and benchmark wiring: a real store, a meter per sandbox, and the real HTTP gateway
 * intercepting the AI hosts (mapped to the fake providers), plus a runner for the SDK driver
 * as a child process configured like an agent inside a sandbox.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.ts';
import { createHttpGateway, type GatewayEvent, type HttpGateway } from '../../gateway/index.ts';
import { createLeafCache, createSandboxCa } from '../../gateway/tls/index.ts';
import { testPolicy } from '../../gateway/http/test-fixtures.ts';
import { createPriceBook, type PriceBook } from '../../pricing/index.ts';
import type { Store } from '../../store/index.ts';
import { createMeter, type Meter } from '../meter.ts';
import type { MeterEvent } from '../ledger.ts';
import { AI_HOSTS, type FakeProviders } from './fake-providers.ts';
import type { Call } from './sdk-driver.ts';

export const PLAIN_HOST = 'plain.example.test';

export interface MeteredGateway {
  sandboxId: string;
  gw: HttpGateway;
  meter: Meter;
  port: number;
  caFile: string;
  events: Array<GatewayEvent | MeterEvent>;
  close(): Promise<void>;
}

export async function insertTestSandbox(store: Store, id: string, limits: { ai?: number | null; compute?: number | null; warn?: number } = {}, alias: string | null = null): Promise<void> {
  await store.insertSandbox({
    id,
    alias,
    profileName: 'test',
    profile: {},
    substrate: 'local',
    status: 'running',
    createdAtMs: Date.now(),
    teardownPolicy: 'destroy',
    enforcementRequested: 'proxy',
    aiLimitUsd: limits.ai ?? null,
    computeLimitUsd: limits.compute ?? null,
    ...(limits.warn !== undefined ? { warningThreshold: limits.warn } : {}),
    createdBy: 'cli',
  });
}

export interface GatewayOptions {
  store: Store;
  fake: Pick<FakeProviders, 'port' | 'caPem'> | null;
  /** Fixed exchange ids (crash/replay tests). */
  newExchangeId?: () => string;
  sandboxId: string;
  priceBook?: PriceBook;
  clock?: Clock;
  /** Without metering (benchmark baseline). */
  noMeter?: boolean;
  /** Another exchange hook instead of the meter's (benchmark breakdowns). */
  exchange?: NonNullable<import('../../gateway/index.ts').GatewayHooks['exchange']>;
  /** Extra host → address overrides (e.g. the benchmark's SSE origin). */
  overrides?: Record<string, string>;
  extraCaPem?: string;
  /** Keep every event in `events` (default); false drops them (long benchmark runs). */
  keepEvents?: boolean;
  /** Operator `metering.extra_hosts` (each also gets an override and an ai_metering rule via `overrides`). */
  extraHosts?: string[];
}

export async function startMeteredGateway(o: GatewayOptions): Promise<MeteredGateway> {
  const clock = o.clock ?? systemClock;
  const dir = await mkdtemp(join(tmpdir(), 'km-meter-'));
  const ca = await createSandboxCa(o.sandboxId, clock);
  const caFile = join(dir, 'ca.pem');
  // The client trusts the sandbox CA, and the fake's CA for tunnelled (not intercepted) hosts.
  await writeFile(caFile, ca.certPem + (o.fake ? `\n${o.fake.caPem}` : ''));
  const events: Array<GatewayEvent | MeterEvent> = [];
  const record = o.keepEvents === false ? (): void => {} : (e: GatewayEvent | MeterEvent): void => void events.push(e);
  const meter = createMeter(
    { store: o.store, priceBook: o.priceBook ?? createPriceBook(), clock, onEvent: record, sandboxRef: async (id) => (await o.store.getSandbox(id))?.alias ?? id, ...(o.extraHosts ? { extraHosts: o.extraHosts } : {}), ...(o.newExchangeId ? { newExchangeId: o.newExchangeId } : {}) },
    o.sandboxId,
  );
  const fakeAddr = o.fake ? `127.0.0.1:${o.fake.port}` : '';
  const overrides: Record<string, string> = { ...(o.fake ? Object.fromEntries([...AI_HOSTS, PLAIN_HOST].map((h) => [h, fakeAddr])) : {}), ...o.overrides };
  const rules = Object.fromEntries([...AI_HOSTS.map((h) => [h, { intercept: 'ai_metering' as const }]), [PLAIN_HOST, {}], ...Object.keys(o.overrides ?? {}).map((h) => [h, { intercept: 'ai_metering' as const }])]);
  const gw = await createHttpGateway({
    sandboxId: o.sandboxId,
    policy: testPolicy(rules),
    leafs: createLeafCache(ca, { clock }),
    upstream: { hostOverrides: overrides, extraCaPem: o.extraCaPem ?? o.fake?.caPem ?? '' },
    onEvent: record,
    clock,
    ...(o.noMeter ? {} : { hooks: { exchange: o.exchange ?? meter.exchange } }),
  });
  const port = 'port' in gw.address ? gw.address.port : 0;
  return {
    sandboxId: o.sandboxId, gw, meter, port, caFile, events,
    close: async () => {
      await gw.close();
      await meter.settled();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface DriverResult {
  ok: boolean;
  kind: string;
  status?: number | null;
  error?: { error?: string; spent_usd?: number; limit_usd?: number; top_up?: string; message?: string } | null;
  usage?: Record<string, unknown> | null;
  text?: string;
  body?: string;
  events?: string[];
  id?: string;
  results?: Array<[string, string]>;
  lines?: number;
}

const DRIVER = new URL('./sdk-driver.ts', import.meta.url).pathname;

/** Runs SDK calls in a child process that reaches the internet only through the gateway. */
export function runSdk(g: { port: number; caFile: string }, calls: Call[], runId: string | null = null): Promise<DriverResult[]> {
  const auth = runId ? `${encodeURIComponent(runId)}:x@` : '';
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_USE_ENV_PROXY: '1',
    HTTPS_PROXY: `http://${auth}127.0.0.1:${g.port}`,
    HTTP_PROXY: `http://${auth}127.0.0.1:${g.port}`,
    NODE_EXTRA_CA_CERTS: g.caFile,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, JSON.stringify(calls)], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`sdk driver failed: ${err.message}\n${stderr}`));
      resolve(stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as DriverResult));
    });
  });
}

export interface ProxiedResponse {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTPS request through the gateway from this process (CONNECT, trusting the sandbox CA). */
export async function proxiedRequest(
  g: { port: number; caFile: string },
  req: { host: string; path: string; body?: unknown; headers?: Record<string, string>; runId?: string; onData?: (chunk: Buffer) => void },
): Promise<ProxiedResponse> {
  const { Agent, request } = await import('node:https');
  const { readFile } = await import('node:fs/promises');
  const auth = req.runId ? `${encodeURIComponent(req.runId)}:x@` : '';
  const agent = new Agent({ proxyEnv: { HTTPS_PROXY: `http://${auth}127.0.0.1:${g.port}` }, ca: await readFile(g.caFile, 'utf8') } as ConstructorParameters<typeof Agent>[0]);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  return new Promise((resolve, reject) => {
    const r = request({ host: req.host, port: 443, path: req.path, method: payload ? 'POST' : 'GET', agent, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...req.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        req.onData?.(c);
      });
      res.on('end', () => {
        agent.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    r.on('error', (e) => {
      agent.destroy();
      reject(e);
    });
    r.end(payload);
  });
}
