/**
 * DNS filter benchmark: the same loopback query load sent straight to a fake upstream
 * resolver (baseline) and through `createDnsFilter` (forwarded to that upstream, or denied
 * with NXDOMAIN), interleaved in one run. The filter and the upstream each run in their own
 * worker thread; this thread only generates load.
 *
 *   scripts/node bench/dns.ts [--seconds 2] [--rate 5000] [--inflight 32] [--rounds 3]
 *
 * - throughput: closed loop with --inflight queries outstanding (median of --rounds runs)
 * - latency: open loop at --rate queries/s, p50 and p99 (target: ≥ 5,000 q/s with p99 ≤ 5 ms)
 * - the unix-socket transports the sandbox bridges use: one message per connection (what
 *   `socat UDP-RECVFROM,fork UNIX-CONNECT` produces) and framed on one connection
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../src/core/clock.ts';
import { createDnsFilter } from '../src/gateway/dns/index.ts';
import { compilePolicy, decideDns } from '../src/policy/index.ts';
import { policyInput } from '../src/policy/test-input.ts';
import { emitResult } from './report.ts';

type Role = { role: 'upstream' } | { role: 'filter'; upstreamPort: number; dir: string };

/** A minimal upstream: echoes the question with one A record (no EDNS in our queries). */
async function upstreamWorker(): Promise<void> {
  const s = dgram.createSocket('udp4');
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, 7]);
  s.on('message', (q, r) => {
    const a = Buffer.concat([q, rr]);
    a.writeUInt16BE(0x8180, 2);
    a.writeUInt16BE(1, 6);
    s.send(a, r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  parentPort!.postMessage({ port: s.address().port });
}

async function filterWorker(w: { upstreamPort: number; dir: string }): Promise<void> {
  const policy = compilePolicy(policyInput({ suffixes: ['.allowed.test'] }), { sandboxId: 'sb-be0cd0e5' });
  let events = 0;
  const f = await createDnsFilter(
    { decide: (name) => decideDns(policy, name), onEvent: () => void events++, clock: systemClock },
    {
      upstreams: [{ host: '127.0.0.1', port: w.upstreamPort }], timeoutMs: 1000, udp: {},
      unixDatagramPerConnection: join(w.dir, 'dns.sock'), unixStream: join(w.dir, 'dns-tcp.sock'),
    },
  );
  parentPort!.postMessage({ port: f.udp!.port });
}

function query(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([Buffer.from([0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

interface Run { qps: number; p50: number; p99: number; lost: number; rcodes: Set<number> }
const pct = (xs: Float64Array | number[], p: number): number => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};

/** UDP load: closed loop (`inflight` outstanding) or open loop (`rate` q/s), for `seconds`. */
async function udpLoad(port: number, template: Buffer, seconds: number, mode: { inflight: number } | { rate: number }): Promise<Run> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const sentAt = new Float64Array(65536).fill(-1);
  const lat: number[] = [];
  const rcodes = new Set<number>();
  let id = 0;
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const send = (): void => {
    const q = Buffer.from(template);
    id = (id + 1) & 0xffff;
    q.writeUInt16BE(id, 0);
    sentAt[id] = performance.now();
    sent++;
    s.send(q, port, '127.0.0.1');
  };
  let last = t0;
  const done = new Promise<void>((resolve) => {
    s.on('message', (m) => {
      const at = sentAt[m.readUInt16BE(0)]!;
      if (at < 0) return;
      sentAt[m.readUInt16BE(0)] = -1;
      last = performance.now();
      lat.push(last - at);
      rcodes.add(m.readUInt16BE(2) & 0xf);
      if ('inflight' in mode) {
        if (last < end) send();
        else if (lat.length === sent) resolve();
      }
    });
    if ('inflight' in mode) for (let i = 0; i < mode.inflight; i++) send();
    else {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(Math.floor(((Math.min(now, end) - t0) / 1000) * mode.rate), Math.ceil(seconds * mode.rate));
        while (sent < due) send();
        if (now < end) setTimeout(tick, 1);
        else setTimeout(resolve, 300);
      };
      tick();
    }
    setTimeout(resolve, seconds * 1000 + 3000); // lost datagrams must not hang the run
  });
  await done;
  s.close();
  return { qps: lat.length / ((last - t0) / 1000), p50: pct(lat, 0.5), p99: pct(lat, 0.99), lost: sent - lat.length, rcodes };
}

/** Unix-socket load, closed loop: per-connection (one raw message per connection) or framed on one connection. */
async function unixLoad(path: string, framed: boolean, template: Buffer, seconds: number, inflight: number): Promise<Run> {
  const lat: number[] = [];
  const rcodes = new Set<number>();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const perConnection = (): Promise<void> => new Promise((resolve) => {
    const t = performance.now();
    const c = net.connect(path);
    const chunks: Buffer[] = [];
    c.on('error', () => resolve());
    c.on('data', (d) => chunks.push(d));
    c.on('close', () => {
      const m = Buffer.concat(chunks);
      if (m.length >= 4) {
        lat.push(performance.now() - t);
        rcodes.add(m.readUInt16BE(2) & 0xf);
      }
      resolve();
    });
    c.end(template);
  });
  if (!framed) {
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (performance.now() < end) await perConnection();
    }));
    return { qps: lat.length / ((performance.now() - t0) / 1000), p50: pct(lat, 0.5), p99: pct(lat, 0.99), lost: 0, rcodes };
  }
  const c = net.connect(path);
  await new Promise((r) => c.once('connect', r));
  const sentAt = new Float64Array(65536);
  let id = 0;
  const send = (): void => {
    const q = Buffer.alloc(template.length + 2);
    q.writeUInt16BE(template.length, 0);
    template.copy(q, 2);
    id = (id + 1) & 0xffff;
    q.writeUInt16BE(id, 2);
    sentAt[id] = performance.now();
    c.write(q);
  };
  let buf = Buffer.alloc(0);
  let outstanding = 0;
  await new Promise<void>((resolve) => {
    c.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        const m = buf.subarray(2, buf.readUInt16BE(0) + 2);
        buf = buf.subarray(m.length + 2);
        lat.push(performance.now() - sentAt[m.readUInt16BE(0)]!);
        rcodes.add(m.readUInt16BE(2) & 0xf);
        outstanding--;
        if (performance.now() < end) (send(), outstanding++);
        else if (outstanding === 0) resolve();
      }
    });
    for (let i = 0; i < inflight; i++) (send(), outstanding++);
  });
  c.destroy();
  return { qps: lat.length / ((performance.now() - t0) / 1000), p50: pct(lat, 0.5), p99: pct(lat, 0.99), lost: 0, rcodes };
}

const med = (runs: Run[], k: 'qps' | 'p50' | 'p99'): number => pct(runs.map((r) => r[k]), 0.5);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, rate: { type: 'string', default: '5000' }, inflight: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' } } });
  const [secs, rate, inflight, rounds] = [values.seconds, values.rate, values.inflight, values.rounds].map(Number) as [number, number, number, number];
  const dir = mkdtempSync(join(tmpdir(), 'km-bench-dns-'));
  const start = async (w: Role): Promise<[Worker, number]> => {
    const worker = new Worker(new URL(import.meta.url), { workerData: w });
    return [worker, ((await new Promise((r) => worker.once('message', r))) as { port: number }).port];
  };
  const [upW, upPort] = await start({ role: 'upstream' });
  const [fW, fPort] = await start({ role: 'filter', upstreamPort: upPort, dir });
  try {
    const allowed = query('www.allowed.test');
    const denied = query('tracker.denied.example');
    const variants: Array<[string, (mode: { inflight: number } | { rate: number }) => Promise<Run>]> = [
      ['direct to upstream (baseline)', (m) => udpLoad(upPort, allowed, secs, m)],
      ['filter UDP, allowed (forwarded)', (m) => udpLoad(fPort, allowed, secs, m)],
      ['filter UDP, denied (NXDOMAIN)', (m) => udpLoad(fPort, denied, secs, m)],
    ];
    for (const [, f] of variants) await f({ inflight }); // warm-up
    const tp: Run[][] = variants.map(() => []);
    const lat: Run[][] = variants.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, [, f]] of variants.entries()) tp[i]!.push(await f({ inflight }));
      for (const [i, [, f]] of variants.entries()) lat[i]!.push(await f({ rate }));
    }
    const unix: Array<[string, () => Promise<Run>]> = [
      ['filter unix, per-connection, allowed', () => unixLoad(join(dir, 'dns.sock'), false, allowed, secs, 8)],
      ['filter unix, per-connection, denied', () => unixLoad(join(dir, 'dns.sock'), false, denied, secs, 8)],
      ['filter unix, framed, allowed', () => unixLoad(join(dir, 'dns-tcp.sock'), true, allowed, secs, inflight)],
    ];
    const ux: Run[][] = unix.map(() => []);
    for (let r = 0; r < rounds; r++) for (const [i, [, f]] of unix.entries()) ux[i]!.push(await f());
    const base = med(tp[0]!, 'qps');
    const rows = [['path', `q/s (${inflight} in flight)`, 'vs direct', `p50 @ ${rate}/s`, `p99 @ ${rate}/s`, 'lost', 'rcodes']];
    for (const [i, [name]] of variants.entries()) {
      rows.push([name, med(tp[i]!, 'qps').toFixed(0), `${((med(tp[i]!, 'qps') / base) * 100).toFixed(0)} %`, `${med(lat[i]!, 'p50').toFixed(3)} ms`, `${med(lat[i]!, 'p99').toFixed(3)} ms`,
        String(lat[i]!.reduce((a, x) => a + x.lost, 0)), [...new Set(lat[i]!.flatMap((x) => [...x.rcodes]))].join(',')]);
    }
    for (const [i, [name]] of unix.entries()) rows.push([name, med(ux[i]!, 'qps').toFixed(0), `${((med(ux[i]!, 'qps') / base) * 100).toFixed(0)} %`, `${med(ux[i]!, 'p50').toFixed(3)} ms (closed loop)`, `${med(ux[i]!, 'p99').toFixed(3)} ms`, '-', [...new Set(ux[i]!.flatMap((x) => [...x.rcodes]))].join(',')]);
    const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    console.log(`dns bench: ${rounds} rounds × ${secs} s per cell, loopback, medians across rounds`);
    for (const r of rows) console.log(r.map((x, i) => x.padEnd(w[i]!)).join('  '));
    for (const [i, kind] of [[1, 'allowed'], [2, 'denied']] as const) {
      const q = med(tp[i]!, 'qps');
      const p99 = med(lat[i]!, 'p99');
      emitResult({ target: `DNS ${kind} (UDP) ≥ 5,000 q/s`, measured: `${q.toFixed(0)} q/s`, baseline: `direct ${base.toFixed(0)} q/s`, ratio: `${((q / base) * 100).toFixed(0)} % of direct`, pass: q >= 5000 });
      emitResult({ target: `DNS ${kind} (UDP) p99 ≤ 5 ms @ ${rate} q/s`, measured: `${p99.toFixed(2)} ms`, baseline: `direct ${med(lat[0]!, 'p99').toFixed(2)} ms`, ratio: `+${(p99 - med(lat[0]!, 'p99')).toFixed(2)} ms`, pass: p99 <= 5 && rate >= 5000 });
    }
  } finally {
    await fW.terminate();
    await upW.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else {
  const w = workerData as Role;
  if (w.role === 'upstream') await upstreamWorker();
  else await filterWorker(w);
}
