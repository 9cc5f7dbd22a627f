/**
 * Gateway HTTP(S) benchmark: the same loopback workload direct and through the gateway,
 * in one run, reported as ratios. The gateway runs in a worker thread (its own event loop).
 *
 *   scripts/node bench/gateway-http.ts [--n 300] [--mb 128]
 *
 * - new CONNECT connection: TCP connect + TLS handshake + one small request (p50), direct vs
 *   CONNECT tunnel (targets: added ≤ 0.5 ms)
 * - tunnel throughput: bulk bytes to a TCP sink, direct vs tunnel, 5 interleaved rounds, median of
 *   the per-round ratios (target ≥ 80 %). Beside it, CPU per MB moved, read per thread from
 *   /proc/self/task/<tid>/schedstat: the gateway's (its relay thread `km-relay` and its worker's
 *   event loop) against the bare Node pipe relay's (the same worker's loop), and the bench's own
 *   client and sink (this thread) on each path. The client and the sink share one event loop,
 *   so the throughput rows move with how that loop fares, the CPU rows much less.
 *   Reference rows: a bare Node CONNECT proxy (no parser, policy or SNI check) in the same
 *   worker, and the floor: bench/connect-floor.c, the least a CONNECT proxy can do, in C (a
 *   blocking thread per connection), built with `cc` for the run (the row says so without one).
 * - interception with a cached leaf: same as the first row but the host is intercepted
 *   (gateway terminates TLS and forwards over a pooled upstream connection; target ≤ 3 ms)
 * - the same CONNECT rows through `@anthropic-ai/sandbox-runtime`'s HTTP proxy
 *   (`createHttpProxyServer`, allow-all filter, opaque tunnel), in the same worker. It has no
 *   host overrides, so its CONNECT names 127.0.0.1:<port> (the TLS server name stays the same).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createServer as createNetServer, connect as netConnect, type Socket, type AddressInfo } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.ts';
import { createSandboxCa, type SandboxCa } from '../src/gateway/tls/ca.ts';
import { createLeafCache } from '../src/gateway/tls/leaf.ts';
import { createHttpGateway } from '../src/gateway/http/index.ts';
import type { GatewayPolicy } from '../src/gateway/http/index.ts';
import { createHttpProxyServer } from '@anthropic-ai/sandbox-runtime/dist/sandbox/http-proxy.js';
import { emitResult } from './report.ts';

interface WorkerInput {
  httpsPort: number;
  sinkPort: number;
  upstreamCaPem: string;
}

async function runGatewayWorker(input: WorkerInput): Promise<void> {
  const policy: GatewayPolicy = {
    decideHost: ({ host, port }) => {
      const intercept = host === 'meter.bench.test';
      return { allow: true, rule: 'bench', host, port, intercept, interceptReason: intercept ? 'ai_metering' : null };
    },
    decidePath: () => ({ allow: true, rule: 'bench' }),
    isDestinationAllowed: () => ({ allow: true }),
  };
  const ca = await createSandboxCa('sb-bench', systemClock);
  const gw = await createHttpGateway({
    sandboxId: 'sb-bench',
    policy,
    leafs: createLeafCache(ca, { clock: systemClock }),
    upstream: {
      extraCaPem: input.upstreamCaPem,
      hostOverrides: {
        'api.bench.test': `127.0.0.1:${input.httpsPort}`,
        'meter.bench.test': `127.0.0.1:${input.httpsPort}`,
        'sink.bench.test': `127.0.0.1:${input.sinkPort}`,
      },
    },
    onEvent: () => {},
    clock: systemClock,
  });
  // Reference ceiling: the barest Node relay (pipe both ways) on the same thread.
  const relay = createNetServer((c) => {
    const u = netConnect({ port: input.sinkPort, host: '127.0.0.1', noDelay: true });
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const srt = createHttpProxyServer({ filter: () => true });
  await new Promise<void>((r) => srt.listen(0, '127.0.0.1', r));
  const srtPort = (srt.address() as AddressInfo).port;
  // Reference floor for the CONNECT row: the barest Node CONNECT proxy (no HTTP parser, no
  // policy, no SNI check: read to the blank line, dial the fixed origin, answer 200, pipe).
  const bare = createNetServer({ noDelay: true }, (c) => {
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      c.off('data', onData);
      c.pause();
      const u = netConnect({ port: input.httpsPort, host: '127.0.0.1', noDelay: true }, () => {
        c.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        c.pipe(u);
        u.pipe(c);
        c.resume();
      });
      u.on('error', () => c.destroy());
      c.on('error', () => u.destroy());
    };
    c.on('data', onData);
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  parentPort!.postMessage({ port: (gw.address as { port: number }).port, relayPort: (relay.address() as AddressInfo).port, srtPort, barePort: (bare.address() as AddressInfo).port, caPem: ca.certPem });
  // Which relay moved the tunnels: asked for once the rows have run.
  parentPort!.on('message', () => {
    const s = gw.stats();
    parentPort!.postMessage({ tunnels: s.tunnels, relayed: s.relayed });
  });
}

const REQUEST = 'GET /ping HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n';

function once(s: Socket, ev: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once(ev, () => resolve());
    s.once('error', reject);
  });
}

async function openTunnel(proxyPort: number, host: string, port: number): Promise<Socket> {
  const s = netConnect({ port: proxyPort, host: '127.0.0.1', noDelay: true });
  await once(s, 'connect');
  s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      s.off('data', onData);
      s.pause();
      if (buf.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(buf));
    };
    s.on('data', onData);
  });
  return s;
}

/** One new TLS connection + one request; returns elapsed ms. */
async function tlsExchange(host: string, ca: string, socket: () => Promise<Socket>): Promise<number> {
  const t0 = performance.now();
  const raw = await socket();
  const s: TLSSocket = tlsConnect({ socket: raw, servername: host, ca, ALPNProtocols: ['http/1.1'] });
  await once(s, 'secureConnect');
  s.write(REQUEST.replace('HOST', host));
  let got = '';
  await new Promise<void>((resolve, reject) => {
    s.on('data', (d) => {
      got += d;
      if (got.includes('pong')) resolve();
    });
    s.on('error', reject);
  });
  const ms = performance.now() - t0;
  s.destroy();
  return ms;
}

/**
 * bench/connect-floor.c built into a temporary directory and started (its port read from its
 * stdout), or why not. `stop` ends it and removes the directory.
 */
async function startFloorProxy(): Promise<{ port: number; stop: () => void } | { reason: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'km-bench-floor-'));
  const bin = join(dir, 'connect-floor');
  const cc = spawnSync('cc', ['-O2', '-pthread', '-o', bin, new URL('./connect-floor.c', import.meta.url).pathname], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: cc.error ? 'no C compiler (cc)' : `cc failed: ${cc.stderr.trim().split('\n')[0]}` };
  }
  const child: ChildProcess = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = (): void => {
    process.off('exit', stop);
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const port = await new Promise<number>((resolve) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', () => resolve(0));
  });
  if (!(port > 0)) return (stop(), { reason: 'connect-floor did not start' });
  return { port, stop };
}

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the variants interleaved (so drift hits all alike) and returns each one's p50. */
async function sample(n: number, fs: Array<() => Promise<number>>): Promise<number[]> {
  for (let i = 0; i < Math.min(20, n); i++) for (const f of fs) await f(); // warm-up
  const xs: number[][] = fs.map(() => []);
  for (let i = 0; i < n; i++) for (const [j, f] of fs.entries()) xs[j]!.push(await f());
  return xs.map(p50);
}

/** CPU time (ns) each thread of this process has run, by thread name (comm), summed. */
function threadCpuNs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out.set(comm, (out.get(comm) ?? 0) + ns);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Runs `f` and returns, with its result, the CPU ms each named thread used meanwhile. */
async function cpuOf<T>(f: () => Promise<T>): Promise<{ value: T; ms: (...names: string[]) => number }> {
  const before = threadCpuNs();
  const value = await f();
  const after = threadCpuNs();
  return { value, ms: (...names) => names.reduce((sum, n) => sum + ((after.get(n) ?? 0) - (before.get(n) ?? 0)) / 1e6, 0) };
}

async function throughput(mb: number, socket: () => Promise<Socket>): Promise<number> {
  const s = await socket();
  s.resume();
  const chunk = Buffer.alloc(1 << 16, 7);
  const total = mb << 20;
  const t0 = performance.now();
  let sent = 0;
  const done = new Promise<void>((resolve) => s.once('data', () => resolve())); // sink replies when it has all bytes
  while (sent < total) {
    sent += chunk.length;
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  return mb / secs;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '300' }, mb: { type: 'string', default: '128' } } });
  const n = Number(values.n);
  const mb = Number(values.mb);
  const upstreamCa: SandboxCa = await createSandboxCa('bench-upstream', systemClock);
  const upLeafs = createLeafCache(upstreamCa, { clock: systemClock });
  const ctxs = { api: await upLeafs.getSecureContext('api.bench.test'), meter: await upLeafs.getSecureContext('meter.bench.test') };
  const origin = createHttpsServer({ SNICallback: (name, cb) => cb(null, name === 'meter.bench.test' ? ctxs.meter : ctxs.api) }, (_q, r) => {
    r.writeHead(200, { 'content-type': 'text/plain' });
    r.end('pong');
  });
  origin.keepAliveTimeout = 60_000;
  const sink = createNetServer((s) => {
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= mb << 20) s.write('done');
    });
    s.on('error', () => {});
  });
  await Promise.all([new Promise<void>((r) => origin.listen(0, '127.0.0.1', r)), new Promise<void>((r) => sink.listen(0, '127.0.0.1', r))]);
  const httpsPort = (origin.address() as AddressInfo).port;
  const sinkPort = (sink.address() as AddressInfo).port;
  const worker = new Worker(new URL(import.meta.url), { workerData: { httpsPort, sinkPort, upstreamCaPem: upstreamCa.certPem } satisfies WorkerInput });
  const { port: proxyPort, relayPort, srtPort, barePort, caPem } = await new Promise<{ port: number; relayPort: number; srtPort: number; barePort: number; caPem: string }>((r) => worker.once('message', r));

  const direct = (port: number) => async (): Promise<Socket> => {
    const s = netConnect({ port, host: '127.0.0.1', noDelay: true });
    await once(s, 'connect');
    return s;
  };
  const upCa = upstreamCa.certPem;
  const floor = await startFloorProxy();
  const [lDirect, lTunnel, lIntercept, lSrt, lBare, lFloor = NaN] = (await sample(n, [
    () => tlsExchange('api.bench.test', upCa, direct(httpsPort)),
    () => tlsExchange('api.bench.test', upCa, () => openTunnel(proxyPort, 'api.bench.test', 443)),
    () => tlsExchange('meter.bench.test', caPem, () => openTunnel(proxyPort, 'meter.bench.test', 443)),
    () => tlsExchange('api.bench.test', upCa, () => openTunnel(srtPort, '127.0.0.1', httpsPort)),
    () => tlsExchange('api.bench.test', upCa, () => openTunnel(barePort, 'api.bench.test', 443)),
    ...('port' in floor ? [() => tlsExchange('api.bench.test', upCa, () => openTunnel(floor.port, '127.0.0.1', httpsPort))] : []),
  ])) as [number, number, number, number, number, number?];
  if ('stop' in floor) floor.stop();
  const rounds: number[][] = [[], [], [], []];
  // CPU ms per MB moved, per round: the relaying side's and the bench's own client + sink.
  const cpu = { directClient: [] as number[], bareRelay: [] as number[], bareClient: [] as number[], gatewayRelay: [] as number[], gatewayClient: [] as number[] };
  const ROUNDS = 5;
  const MAIN = 'MainThread';
  const WORKER = 'WorkerThread';
  for (let i = 0; i < ROUNDS; i++) {
    const d = await cpuOf(() => throughput(mb, direct(sinkPort)));
    rounds[0]!.push(d.value);
    cpu.directClient.push(d.ms(MAIN) / mb);
    const r = await cpuOf(() => throughput(mb, direct(relayPort)));
    rounds[1]!.push(r.value);
    cpu.bareRelay.push(r.ms(WORKER) / mb);
    cpu.bareClient.push(r.ms(MAIN) / mb);
    const t = await cpuOf(() => throughput(mb, () => openTunnel(proxyPort, 'sink.bench.test', 443)));
    rounds[2]!.push(t.value);
    cpu.gatewayRelay.push(t.ms(WORKER, 'km-relay') / mb);
    cpu.gatewayClient.push(t.ms(MAIN) / mb);
    rounds[3]!.push(await throughput(mb, () => openTunnel(srtPort, '127.0.0.1', sinkPort)));
  }
  const perMb = (xs: number[]): string => `${p50(xs).toFixed(3)} ms/MB`;
  const [tDirect, tRelay, tTunnel, tSrt] = rounds.map(p50) as [number, number, number, number];
  // Ratios per round (each variant right after the direct run), then their median: the direct
  // figure drifts with the machine from one round to the next.
  const ratioOf = (j: number, base = 0): number => p50(rounds[j]!.map((v, i) => v / rounds[base]![i]!));
  const [rRelay, rTunnel, rSrt, rTunnelVsRelay] = [ratioOf(1), ratioOf(2), ratioOf(3), ratioOf(2, 1)];
  worker.postMessage('stats');
  const { tunnels, relayed } = await new Promise<{ tunnels: number; relayed: number }>((r) => worker.once('message', r));
  const relayKind = relayed === tunnels ? 'native (splice)' : relayed === 0 ? 'node (pipe)' : 'mixed';

  const rows = [
    ['new TLS connection + request, p50', `${lDirect.toFixed(3)} ms`, `${lTunnel.toFixed(3)} ms`, `+${(lTunnel - lDirect).toFixed(3)} ms`, '≤ +0.5 ms'],
    ['  reference: bare Node CONNECT proxy', `${lDirect.toFixed(3)} ms`, `${lBare.toFixed(3)} ms`, `+${(lBare - lDirect).toFixed(3)} ms`, ''],
    'reason' in floor
      ? ['  floor: minimal C CONNECT proxy', '', floor.reason, '', '']
      : ['  floor: minimal C CONNECT proxy', `${lDirect.toFixed(3)} ms`, `${lFloor.toFixed(3)} ms`, `+${(lFloor - lDirect).toFixed(3)} ms`, `gateway − floor: +${(lTunnel - lFloor).toFixed(3)} ms`],
    ['intercepted (cached leaf), p50', `${lDirect.toFixed(3)} ms`, `${lIntercept.toFixed(3)} ms`, `+${(lIntercept - lDirect).toFixed(3)} ms`, '≤ +3 ms'],
    ['tunnel throughput (median of 5 rounds)', `${tDirect.toFixed(0)} MB/s`, `${tTunnel.toFixed(0)} MB/s`, `${(rTunnel * 100).toFixed(1)} %`, '≥ 80 %'],
    ['  tunnel relay used', '', relayKind, `${relayed} of ${tunnels} tunnels`, ''],
    ['  reference: bare Node pipe relay', `${tDirect.toFixed(0)} MB/s`, `${tRelay.toFixed(0)} MB/s`, `${(rRelay * 100).toFixed(1)} %`, ''],
    ['  gateway tunnel vs bare relay', `${tRelay.toFixed(0)} MB/s`, `${tTunnel.toFixed(0)} MB/s`, `${(rTunnelVsRelay * 100).toFixed(1)} %`, ''],
    ['  relay CPU (gateway: km-relay + loop)', '', perMb(cpu.gatewayRelay), `bare Node relay ${perMb(cpu.bareRelay)}`, ''],
    ['  bench client + sink CPU', perMb(cpu.directClient), perMb(cpu.gatewayClient), `bare Node relay ${perMb(cpu.bareClient)}`, ''],
    ['srt proxy: new TLS connection, p50', `${lDirect.toFixed(3)} ms`, `${lSrt.toFixed(3)} ms`, `+${(lSrt - lDirect).toFixed(3)} ms`, `km/srt added: ${((lTunnel - lDirect) / (lSrt - lDirect)).toFixed(2)}x`],
    ['srt proxy: tunnel throughput', `${tDirect.toFixed(0)} MB/s`, `${tSrt.toFixed(0)} MB/s`, `${(rSrt * 100).toFixed(1)} %`, `km/srt: ${((rTunnel / rSrt) * 100).toFixed(0)} %`],
  ];
  const head = ['measure', 'direct', 'via gateway', 'added / ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`gateway-http bench: n=${n} connections per latency row, ${mb} MB per throughput row, loopback`);
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
  const added = lTunnel - lDirect;
  emitResult({ target: 'CONNECT added latency p50 ≤ 0.5 ms', measured: `+${added.toFixed(3)} ms`, baseline: `direct ${lDirect.toFixed(3)} ms; srt +${(lSrt - lDirect).toFixed(3)} ms; bare Node CONNECT proxy +${(lBare - lDirect).toFixed(3)} ms; minimal C CONNECT proxy ${'reason' in floor ? floor.reason : `+${(lFloor - lDirect).toFixed(3)} ms`}`, ratio: `${(lTunnel / lDirect).toFixed(2)}x direct`, pass: added <= 0.5 });
  emitResult({ target: 'tunnel throughput ≥ 80 % of direct', measured: `${tTunnel.toFixed(0)} MB/s`, baseline: `direct ${tDirect.toFixed(0)}; srt ${tSrt.toFixed(0)} MB/s`, ratio: `${(rTunnel * 100).toFixed(1)} %`, pass: rTunnel >= 0.8 });
  emitResult({ target: 'intercepted request (cached leaf) added p50 ≤ 3 ms', measured: `+${(lIntercept - lDirect).toFixed(3)} ms`, baseline: `direct ${lDirect.toFixed(3)} ms`, ratio: `${(lIntercept / lDirect).toFixed(2)}x direct`, pass: lIntercept - lDirect <= 3 });
  await worker.terminate();
  origin.closeAllConnections();
  origin.close();
  sink.close();
}

if (isMainThread) await main();
else await runGatewayWorker(workerData as WorkerInput);
