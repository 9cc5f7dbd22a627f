/**
 * Metering overhead: a ~1 MB Anthropic SSE stream relayed through TLS interception with the
 * metering hook and without, side by side in one run. Each gateway runs in its own worker
 * process so its CPU time (all threads: GC included) is measured on its own.
 *
 *   scripts/node bench/metering.ts [--n 1600] [--block 16] [--warm 20] [--kb 1024] [--cpu-prof DIR] [--aa]
 *                                  [--breakdown] [--node-flags='--flag …']
 *
 * Each client keeps its connection alive, so the figures are per request (no handshakes).
 * `--n` streams per gateway are measured in rounds of one `--block` per gateway after `--warm`
 * streams each (a block of 16 spans about one full GC on each side, so a round's ratio does not
 * hinge on which side a collection fell in); `--cpu-prof DIR` writes a CPU profile of each
 * gateway worker into DIR. `--aa` runs the unmetered gateway in both slots (an A/A run): its
 * ratios show the bench's own noise and slot bias on this host, the yardstick for the real run's.
 * `--breakdown` also times the meter's two parts inside the metered gateway as it relays (the
 * usage tap per chunk, the ledger's store calls) against the CPU the 5 % target leaves.
 * Both gateway workers run with kmd's Node flags (KMD_NODE_FLAGS), or with `--node-flags`
 * instead (`--node-flags=` for Node's defaults).
 * Reports gateway CPU per stream (metered / plain; target ≤ 1.05) and time to first byte
 * (difference of medians; target ≤ 1 ms), plus the ledger rows written as a sanity check. The
 * metered sandbox has an AI limit (never reached), so every request and commit reads the budget;
 * full garbage collections per 100 streams are counted on each side.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Transform } from 'node:stream';
import { createServer as createHttpsServer, request as httpsRequest, Agent } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { systemClock } from '../src/core/clock.ts';
import { createLeafCache, createSandboxCa } from '../src/gateway/tls/index.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { insertTestSandbox, startMeteredGateway } from '../src/metering/testdata/harness.ts';
import { createUsageParser } from '../src/metering/parsers/index.ts';
import { eventFrame } from '../src/metering/testdata/fake-providers.ts';
import { KMD_NODE_FLAGS } from '../src/daemon/spawn.ts';
import type { Store } from '../src/store/index.ts';
import type { ExchangeHookFn } from '../src/metering/hook.ts';

interface WorkerInput {
  metered: boolean;
  /** Time the meter's own work inside the gateway (`--breakdown`). */
  breakdown: boolean;
  originPort: number;
  originCaPem: string;
}

/** Nanoseconds spent in the meter's synchronous work inside the gateway, by part. */
interface MeterTimes {
  /** The usage parser and snapshot handling, per response chunk (the tap's data/end/abort). */
  tapNs: number;
  chunks: number;
  /** The ledger's store calls (SQLite runs synchronously inside them). */
  storeNs: number;
  storeCalls: number;
}

const noTimes = (): MeterTimes => ({ tapNs: 0, chunks: 0, storeNs: 0, storeCalls: 0 });

/**
 * Wraps the metered gateway's store calls and the meter's response taps with a clock, so the
 * report can say where the metered side's extra CPU goes while it relays (not in isolation,
 * where caches are warm and the figures come out several times lower). The clock reads add a
 * little to the metered side, so the ratio of a `--breakdown` run reads slightly high.
 */
function timeMeter(store: Store): { exchange: ExchangeHookFn; use: (inner: ExchangeHookFn) => void; totals: MeterTimes } {
  const totals = noTimes();
  const clockIt = <A extends unknown[], R>(f: (...a: A) => R, add: (ns: number) => void): ((...a: A) => R) => (...a) => {
    const t0 = process.hrtime.bigint();
    try {
      return f(...a);
    } finally {
      add(Number(process.hrtime.bigint() - t0));
    }
  };
  const onStore = (ns: number): void => void ((totals.storeNs += ns), totals.storeCalls++);
  const onTap = (ns: number): void => void (totals.tapNs += ns);
  for (const k of ['commitUsage', 'aiBudget', 'setBudgetWarned'] as const) {
    const f = (store[k] as (...a: unknown[]) => unknown).bind(store);
    (store as unknown as Record<string, unknown>)[k] = clockIt(f, onStore);
  }
  let inner: ExchangeHookFn | undefined;
  const exchange: ExchangeHookFn = async (info) => {
    const h = await inner!(info);
    const response = h?.response;
    if (!h || !response) return h;
    return {
      ...h,
      response: (res) => {
        const t = response(res);
        if (!t || t instanceof Transform) return t;
        return {
          data: clockIt((c: Buffer) => (totals.chunks++, t.data(c)), onTap),
          end: clockIt(() => t.end(), onTap),
          abort: clockIt(() => t.abort(), onTap),
        };
      },
    };
  };
  return { exchange, use: (f) => void (inner = f), totals };
}

async function gatewayWorker(input: WorkerInput): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'km-bench-meter-'));
  const store = await openSqliteStore(join(dir, 'km.db'), { clock: systemClock });
  // A sandbox with an AI limit (never reached): every request and commit checks the budget.
  await insertTestSandbox(store, 'sb-be0c0001', { ai: 1_000_000 });
  const timed = input.metered && input.breakdown ? timeMeter(store) : undefined;
  const g = await startMeteredGateway({
    store, fake: null, sandboxId: 'sb-be0c0001', noMeter: !input.metered, keepEvents: false,
    overrides: { 'api.anthropic.com': `127.0.0.1:${input.originPort}` }, extraCaPem: input.originCaPem,
    ...(timed ? { exchange: timed.exchange } : {}),
  });
  timed?.use(g.meter.exchange);
  // Full (mark-compact) collections: relaying buffers is dominated by them, so they are counted.
  let majorGcs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (m: string) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system, majorGcs, ...(timed ? { breakdown: timed.totals } : {}) });
    } else if (m === 'rows') {
      process.send!({ rows: (await store.listUsage('sb-be0c0001')).length });
    } else if (m === 'close') {
      await g.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send!({ port: g.port, caFile: g.caFile });
}

/** A ~`kb` KiB Anthropic Messages stream with usage at the start and the end. */
function sseStream(kb: number): Buffer[] {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const parts = [ev('message_start', { type: 'message_start', message: { id: 'msg_b', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: { input_tokens: 1200, cache_read_input_tokens: 300, cache_creation_input_tokens: 0, output_tokens: 1 } } })];
  const text = 'lorem ipsum dolor sit amet, '.repeat(4);
  let size = parts[0]!.length;
  while (size < kb * 1024) {
    const p = ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
    parts.push(p);
    size += p.length;
  }
  parts.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9000 } }), ev('message_stop', { type: 'message_stop' }));
  // Written in ~16 KiB writes, like a provider flushing tokens.
  const all = Buffer.from(parts.join(''));
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += 16_384) out.push(all.subarray(i, i + 16_384));
  return out;
}

function startWorker(input: WorkerInput, profDir: string | undefined, nodeFlags: string[]): Promise<{ w: ChildProcess; port: number; caFile: string }> {
  const prof = profDir ? ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${input.metered ? 'metered' : 'plain'}.cpuprofile`] : [];
  const execArgv = [...process.execArgv, ...nodeFlags, ...prof];
  const w = fork(new URL(import.meta.url), [], { execArgv, env: { ...process.env, KM_BENCH_GATEWAY: JSON.stringify(input) } });
  return new Promise((resolve) => w.once('message', (m: { port: number; caFile: string }) => resolve({ w, ...m })));
}

const ask = <T>(w: ChildProcess, m: string): Promise<T> => new Promise((r) => (w.once('message', (x) => r(x as T)), w.send(m)));
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const median = (xs: number[]): number => quantile(xs, 0.5);

/** One client connection per gateway, kept alive: per-request costs only, no handshakes. */
const agentFor = (port: number, ca: string): Agent =>
  new Agent({ keepAlive: true, maxSockets: 1, proxyEnv: { HTTPS_PROXY: `http://127.0.0.1:${port}` }, ca } as ConstructorParameters<typeof Agent>[0]);

async function oneStream(agent: Agent): Promise<{ ttfbMs: number; totalMs: number; bytes: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: 'api.anthropic.com', path: '/v1/messages', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let first = 0n;
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        if (first === 0n) first = process.hrtime.bigint();
        bytes += c.length;
      });
      res.on('end', () => {
        const end = process.hrtime.bigint();
        resolve({ ttfbMs: Number(first - t0) / 1e6, totalMs: Number(end - t0) / 1e6, bytes });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 9000, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1600' }, block: { type: 'string', default: '16' }, warm: { type: 'string', default: '20' }, kb: { type: 'string', default: '1024' }, 'cpu-prof': { type: 'string' }, aa: { type: 'boolean', default: false }, breakdown: { type: 'boolean', default: false }, 'node-flags': { type: 'string' } } });
  const nodeFlags = values['node-flags'] === undefined ? [...KMD_NODE_FLAGS] : values['node-flags'].split(/\s+/).filter(Boolean);
  const n = Number(values.n);
  const perBlock = Number(values.block);
  const warm = Number(values.warm);
  const chunks = sseStream(Number(values.kb));
  const originCa = await createSandboxCa('bench-origin', systemClock);
  const ctx = await createLeafCache(originCa, { clock: systemClock }).getSecureContext('api.anthropic.com');
  const origin = createHttpsServer({ SNICallback: (_n, cb) => cb(null, ctx) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of chunks) res.write(c);
      res.end();
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = (origin.address() as AddressInfo).port;
  const { readFile } = await import('node:fs/promises');
  const metered = await startWorker({ metered: !values.aa, breakdown: values.breakdown, originPort, originCaPem: originCa.certPem }, values['cpu-prof'], nodeFlags);
  const plain = await startWorker({ metered: false, breakdown: false, originPort, originCaPem: originCa.certPem }, values['cpu-prof'], nodeFlags);
  const am = agentFor(metered.port, await readFile(metered.caFile, 'utf8'));
  const ap = agentFor(plain.port, await readFile(plain.caFile, 'utf8'));
  // Warm-up (connection, leaf minting, JIT tiering), then reset the CPU baselines.
  for (let i = 0; i < warm; i++) await oneStream(am), await oneStream(ap);
  // Rounds of one metered and one plain block, in alternating order (so neither side always
  // runs first); each block's CPU is read from its own process just before and after it. The
  // ratio is the median of per-round ratios, so drift from other load on the host cancels out.
  type Result = { ttfbMs: number; totalMs: number; bytes: number };
  const res = { m: [] as Result[], p: [] as Result[] };
  const ratios: number[] = [];
  const cpu = { m: 0, p: 0 };
  const gcs = new Map<ChildProcess, number>();
  const parts = noTimes();
  type Cpu = { cpuUs: number; majorGcs: number; breakdown?: MeterTimes };
  const block = async (w: ChildProcess, agent: Agent, out: Result[]): Promise<number> => {
    const c0 = await ask<Cpu>(w, 'cpu');
    for (let i = 0; i < perBlock; i++) out.push(await oneStream(agent));
    const c1 = await ask<Cpu>(w, 'cpu');
    gcs.set(w, (gcs.get(w) ?? 0) + c1.majorGcs - c0.majorGcs);
    if (c0.breakdown && c1.breakdown) for (const k of Object.keys(parts) as Array<keyof MeterTimes>) parts[k] += c1.breakdown[k] - c0.breakdown[k];
    return c1.cpuUs - c0.cpuUs;
  };
  for (let round = 0; round * perBlock < n; round++) {
    let m: number;
    let p: number;
    if (round % 2 === 0) (m = await block(metered.w, am, res.m)), (p = await block(plain.w, ap, res.p));
    else (p = await block(plain.w, ap, res.p)), (m = await block(metered.w, am, res.m));
    cpu.m += m;
    cpu.p += p;
    ratios.push(m / p);
  }
  const end = { m: await ask<{ rows: number }>(metered.w, 'rows') };
  const count = res.m.length;
  const cpuM = cpu.m / count / 1000;
  const cpuP = cpu.p / count / 1000;
  const ttfbM = median(res.m.map((r) => r.ttfbMs));
  const ttfbP = median(res.p.map((r) => r.ttfbMs));
  const rows: Array<[string, string, string, string]> = [
    ['', values.aa ? 'plain (A)' : 'metered', values.aa ? 'plain (B)' : 'plain', values.aa ? 'ratio / diff (A/A run: no metering on either side)' : 'ratio / diff'],
    ['stream bytes', String(res.m[0]!.bytes), String(res.p[0]!.bytes), ''],
    ['gateway CPU per stream (ms)', cpuM.toFixed(2), cpuP.toFixed(2), `${median(ratios).toFixed(3)}x median of ${ratios.length} rounds (${values.aa ? 'A/A: 1 but for noise' : 'target ≤ 1.05'})`],
    ['  per-round ratio p25 / p75, ratio of totals', '', '', `${quantile(ratios, 0.25).toFixed(3)} / ${quantile(ratios, 0.75).toFixed(3)}, ${(cpuM / cpuP).toFixed(3)}x`],
    ['major GCs per 100 streams', ((gcs.get(metered.w)! / count) * 100).toFixed(1), ((gcs.get(plain.w)! / count) * 100).toFixed(1), ''],
    ['time to first byte p50 (ms)', ttfbM.toFixed(2), ttfbP.toFixed(2), `${(ttfbM - ttfbP >= 0 ? '+' : '')}${(ttfbM - ttfbP).toFixed(2)} ms (${values.aa ? 'A/A: 0 but for noise' : 'target ≤ 1 ms'})`],
    ['total time p50 (ms)', median(res.m.map((r) => r.totalMs)).toFixed(2), median(res.p.map((r) => r.totalMs)).toFixed(2), ''],
  ];
  // The parser alone over the same stream, in this process (least sensitive to host load).
  const parse = (): void => {
    const pr = createUsageParser({ provider: 'anthropic', api: 'messages' }, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    for (const c of chunks) pr.push(c);
    pr.end();
  };
  // Warmed up as in a long-running gateway (the JIT tiers up after some hundreds of streams).
  for (let i = 0; i < 200; i++) parse();
  const c0 = process.cpuUsage();
  for (let i = 0; i < 200; i++) parse();
  const c1 = process.cpuUsage(c0);
  // Claude Code on Bedrock: InvokeModelWithResponseStream frames of the same size, parser only.
  const frame = (inner: unknown) => Buffer.from(eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(inner)).toString('base64'), p: 'abcdefghijklmnopqrstuvwxyz' }));
  const frames = [frame({ type: 'message_start', message: { model: 'claude-sonnet-4-5', usage: { input_tokens: 1200, output_tokens: 1 } } })];
  for (let size = 0; size < Number(values.kb) * 1024; size += frames[frames.length - 1]!.length) {
    frames.push(frame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lorem ipsum dolor sit amet, '.repeat(2) } }));
  }
  frames.push(frame({ type: 'message_delta', usage: { output_tokens: 9000 } }), frame({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 1200, outputTokenCount: 9000 } }));
  const bedrockBody = Buffer.concat(frames);
  const bedrockChunks: Buffer[] = [];
  for (let i = 0; i < bedrockBody.length; i += 16_384) bedrockChunks.push(bedrockBody.subarray(i, i + 16_384));
  const parseBedrock = (): void => {
    const pr = createUsageParser({ provider: 'bedrock', api: 'invoke-with-response-stream', model: 'anthropic.claude-sonnet-4-5' }, { status: 200, headers: {} });
    for (const c of bedrockChunks) pr.push(c);
    pr.end();
  };
  for (let i = 0; i < 200; i++) parseBedrock();
  const b0 = process.cpuUsage();
  for (let i = 0; i < 200; i++) parseBedrock();
  const b1 = process.cpuUsage(b0);
  const share = (ms: number): string => `${((ms / cpuP) * 100).toFixed(1)}% of the plain relay's CPU`;
  const parserMs = (c1.user + c1.system) / 200 / 1000;
  const bedrockMs = (b1.user + b1.system) / 200 / 1000;
  rows.push(['usage parser alone (ms)', parserMs.toFixed(3), '', share(parserMs)]);
  rows.push([`bedrock stream parser alone (${frames.length} frames)`, bedrockMs.toFixed(3), '', share(bedrockMs)]);
  if (values.breakdown && !values.aa) {
    // The meter's own work measured inside the metered gateway while it relayed (same rounds).
    const tapMs = parts.tapNs / count / 1e6;
    const storeMs = parts.storeNs / count / 1e6;
    rows.push([`  in the gateway: usage tap (${Math.round(parts.chunks / count)} chunks)`, tapMs.toFixed(3), '', share(tapMs)]);
    rows.push([`  in the gateway: store calls (${(parts.storeCalls / count).toFixed(1)})`, storeMs.toFixed(3), '', share(storeMs)]);
    rows.push(['  the 5% target leaves', (cpuP * 0.05).toFixed(3), '', 'ms per stream for all metering work']);
  }
  console.log(`gateway workers' Node flags: ${nodeFlags.join(' ') || '(none)'}`);
  for (const r of rows) console.log(`${r[0].padEnd(40)}${r[1].padStart(10)}${r[2].padStart(10)}  ${r[3]}`);
  if (!values.aa) console.log(`ledger rows written by the metered gateway: ${end.m.rows} (expected ${count + warm})`);
  am.destroy();
  ap.destroy();
  metered.w.send('close');
  plain.w.send('close');
  origin.closeAllConnections();
  origin.close();
}

const gatewayInput = process.env.KM_BENCH_GATEWAY;
if (gatewayInput === undefined) await main();
else await gatewayWorker(JSON.parse(gatewayInput) as WorkerInput);
