/**
 * Gateway memory per idle sandbox: opens --sandboxes complete sandbox gateways in this one
 * process (`openSandboxGateway`: DNS filter + forward proxy + transparent listener on unix
 * sockets, its own CA and leaf cache, a compiled policy) and reports the heap / external /
 * RSS growth per sandbox after a full GC. Target: ≤ 2 MiB per sandbox.
 *
 * Baseline in the same run: as many `@anthropic-ai/sandbox-runtime` HTTP proxies
 * (`createHttpProxyServer` with a host allowlist, listening on loopback), which is what that
 * runtime keeps per sandbox for the same job (it has no DNS filter or transparent listener).
 *
 *   scripts/node bench/gateway-memory.ts [--sandboxes 100]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createHttpProxyServer } from '@anthropic-ai/sandbox-runtime/dist/sandbox/http-proxy.js';
import { systemClock } from '../src/core/clock.ts';
import { compilePolicy } from '../src/policy/index.ts';
import { policyInput } from '../src/policy/test-input.ts';
import { openSandboxGateway, type SandboxGateway } from '../src/gateway/sandbox-gateway.ts';
import { createSandboxCa } from '../src/gateway/tls/index.ts';
import { emitResult } from './report.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Mem { heap: number; heapTotal: number; external: number; rss: number }

async function settle(): Promise<Mem> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss };
}

const HOSTS = ['api.anthropic.com', 'registry.npmjs.org', 'pypi.org', 'files.pythonhosted.org', 'github.com', 'objects.githubusercontent.com'];
const SUFFIXES = ['.githubusercontent.com', '.amazonaws.com'];

async function openOurs(dir: string, i: number): Promise<SandboxGateway> {
  const id = `sb-${(0xbe000000 + i).toString(16)}`;
  return openSandboxGateway({
    sandboxId: id,
    policy: compilePolicy(policyInput({ hosts: HOSTS, suffixes: SUFFIXES, repos: ['acme/widgets'] }), { sandboxId: id }),
    github: { mode: 'allowlist', allowedRepos: ['acme/widgets'], allowForcePush: false, allowRefDeletion: false, allowGraphQL: false },
    ca: await createSandboxCa(id, systemClock),
    gatewayDir: join(dir, id),
    config: { upstreamDns: ['127.0.0.1:9'] },
    clock: systemClock,
    onEvents: () => undefined,
  });
}

async function openSrt(): Promise<Server> {
  const allowed = new Set(HOSTS);
  const server = createHttpProxyServer({ filter: (_port, host) => allowed.has(host) || SUFFIXES.some((s) => host.endsWith(s)) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(3)} MiB`;

async function measure<T>(n: number, open: (i: number) => Promise<T>): Promise<{ per: Mem; handles: T[] }> {
  const before = await settle();
  const handles: T[] = [];
  for (let i = 0; i < n; i++) handles.push(await open(i));
  await new Promise((r) => setTimeout(r, 300));
  const after = await settle();
  const d = (k: keyof Mem): number => (after[k] - before[k]) / n;
  return { per: { heap: d('heap'), heapTotal: d('heapTotal'), external: d('external'), rss: d('rss') }, handles };
}

type Variant = 'ours' | 'ca' | 'srt';

/** One variant in this process: open n, print the per-sandbox deltas as JSON, close. */
async function child(variant: Variant, n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'km-bench-gwmem-'));
  const closers: Array<() => Promise<unknown>> = [];
  try {
    // Warm-up: load every module and JIT the open paths before the baseline reading.
    if (variant === 'srt') await new Promise<void>((r) => void openSrt().then((x) => x.close(() => r())));
    else await (await openOurs(dir, 9999)).close();
    const open = async (i: number): Promise<unknown> => {
      if (variant === 'ours') {
        const g = await openOurs(dir, i);
        closers.push(() => g.close());
      } else if (variant === 'srt') {
        const x = await openSrt();
        closers.push(() => new Promise((r) => x.close(r)));
      } else return createSandboxCa(`sb-${(0xbe000000 + i).toString(16)}`, systemClock);
      return null;
    };
    const m = await measure(n, open);
    process.stdout.write(`${JSON.stringify(m.per)}\n`);
  } finally {
    await Promise.allSettled(closers.map((c) => c()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function inChild(variant: Variant, n: number): Promise<Mem> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', import.meta.filename, '--variant', variant, '--sandboxes', String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Mem) : reject(new Error(`${variant} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sandboxes: { type: 'string', default: '100' }, variant: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.sandboxes);
  if (values.variant) return child(values.variant as Variant, n);
  // Each variant in a fresh process (so RSS pages one leaves behind do not serve the next), alternated.
  const runs: Record<Variant, Mem[]> = { ours: [], ca: [], srt: [] };
  for (let r = 0; r < Number(values.rounds); r++) for (const v of ['ours', 'srt', 'ca'] as const) runs[v].push(await inChild(v, n));
  const med = (v: Variant, k: keyof Mem): number => [...runs[v].map((m) => m[k])].sort((a, b) => a - b)[Math.floor(runs[v].length / 2)]!;
  const rows = [
    ['per idle sandbox (median)', 'km gateway', '  of which CA', 'srt HTTP proxy', 'km / srt'],
    ...(['heap', 'heapTotal', 'external', 'rss'] as const).map((k) => [
      { heap: 'JS heap used', heapTotal: 'JS heap reserved', external: 'external (buffers)', rss: 'RSS' }[k], mib(med('ours', k)), mib(med('ca', k)), mib(med('srt', k)), `${(med('ours', k) / med('srt', k)).toFixed(1)}x`,
    ]),
  ];
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(`gateway-memory bench: ${n} sandboxes per process, deltas after full GC, ${values.rounds} fresh processes per variant`);
  console.log('km gateway = DNS filter (2 unix listeners) + forward proxy + transparent listener + CA + leaf cache + policy');
  for (const r of rows) console.log(r.map((x, i) => x.padEnd(w[i]!)).join('  '));
  const state = med('ours', 'heap') + med('ours', 'external');
  const rss = med('ours', 'rss');
  emitResult({
    target: `gateway state per idle sandbox ≤ 2 MiB (${n} in one process)`,
    measured: `heap+ext ${mib(state)}, RSS ${mib(rss)}`,
    baseline: `srt proxy heap+ext ${mib(med('srt', 'heap') + med('srt', 'external'))}, RSS ${mib(med('srt', 'rss'))}`,
    ratio: `${(Math.max(state, rss) / 2 ** 21).toFixed(2)} of target (RSS)`,
    pass: Math.max(state, rss) <= 2 ** 21,
  });
}

await main();
