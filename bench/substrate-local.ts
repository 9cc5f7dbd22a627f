/**
 * Local substrate benchmark, measured in one run against bare bubblewrap, printed as ratios.
 *
 *   scripts/node bench/substrate-local.ts [--n 30] [--sandboxes 20]
 *
 * - create → first exec: `create()` + `exec(['true'])` (p50 over --sandboxes creates), with
 *   km-setup (native/km-setup.c) and, interleaved, with the bash setup it replaces (the
 *   fallback without a compiler); the bash-setup sandboxes are destroyed right away
 * - exec true: `exec(['true'])` into a running sandbox vs spawning (interleaved)
 *   `bwrap --unshare-all --unshare-user --uid 1000 --cap-drop ALL --ro-bind / / --dev /dev
 *   --proc /proc --tmpfs /tmp true` (p50 over --n; target: ≤ 30 ms more)
 * - memory per idle sandbox with --sandboxes running: PSS of host-side processes (outside the
 *   sandbox's PID namespace: the bwrap monitor, and under a root kmd km-setup waiting on it)
 *   and of the processes inside (init, bridges, holder), plus MemAvailable drop per sandbox
 *   (includes kernel memory: namespaces, overlay, tmpfs). Target: ≤ 5 MiB host-side per
 *   sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalSubstrate } from '../src/substrate/index.ts';
import type { SandboxSpec, Substrate } from '../src/substrate/index.ts';
import { descendants, namespaceMembers } from '../src/substrate/local/proctree.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '30' }, sandboxes: { type: 'string', default: '20' } } });
const N = Number(values.n);
const SANDBOXES = Number(values.sandboxes);

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const mib = (kb: number): string => `${(kb / 1024).toFixed(2)} MiB`;

function waitChild(argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
    c.on('close', (code) => resolve(code ?? -1));
  });
}

async function timeExec(sub: Substrate, id: string): Promise<number> {
  const t0 = performance.now();
  const h = await sub.exec(id, ['true'], { stdio: 'ignore' });
  if ((await h.exit) !== 0) throw new Error('exec true failed');
  return performance.now() - t0;
}

function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const memAvailableKb = (): number => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'km-bench-'));
  const gw = join(home, 'gw');
  mkdirSync(gw, { mode: 0o755 });
  const sub = createLocalSubstrate({ kmHome: home });
  const bashSetup = createLocalSubstrate({ kmHome: home, setupHelper: null });
  const spec = (id: string): SandboxSpec => ({
    id, stateDir: join(home, 'sandboxes', id), gatewayDir: gw, env: {}, workingDir: '/workspace', shell: '/bin/bash',
    caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', hostname: id, privileged: false, configFiles: [], mounts: [],
  });
  const ids: string[] = [];
  try {
    const bare = ['bwrap', '--unshare-all', '--unshare-user', '--uid', '1000', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', 'true'];
    const bareTimes: number[] = [];
    const timeBare = async (): Promise<void> => {
      const t0 = performance.now();
      if ((await waitChild(bare)) !== 0) throw new Error('bare bwrap failed');
      bareTimes.push(performance.now() - t0);
    };
    const createThenExec = async (s: Substrate, id: string): Promise<number> => {
      const t0 = performance.now();
      await s.create(spec(id));
      await timeExec(s, id);
      return performance.now() - t0;
    };
    const memBefore = memAvailableKb();
    const createTimes: number[] = [];
    const bashTimes: number[] = [];
    for (let i = 0; i < SANDBOXES; i += 1) {
      const id = `bn-${i.toString(16).padStart(8, '0')}`;
      ids.push(id);
      createTimes.push(await createThenExec(sub, id));
      const other = `bb-${i.toString(16).padStart(8, '0')}`;
      bashTimes.push(await createThenExec(bashSetup, other));
      await bashSetup.destroy(other);
    }
    // Interleaved, so load on a shared machine hits both sides alike.
    const execTimes: number[] = [];
    for (let i = 0; i < N; i += 1) {
      await timeBare();
      execTimes.push(await timeExec(sub, ids[i % ids.length] as string));
    }
    await new Promise((r) => setTimeout(r, 500));
    let hostSide = 0;
    let inside = 0;
    const hostNs = readlinkSync('/proc/self/ns/pid');
    for (const id of ids) {
      const rt = JSON.parse(readFileSync(join(home, 'sandboxes', id, 'runtime.json'), 'utf8')) as { bwrap: { pid: number }; init: { pid: number } };
      // The launcher record (bwrap's monitor, or km-setup waiting on it) and the monitor.
      for (const pid of [rt.bwrap.pid, ...descendants(rt.bwrap.pid)]) if (readlinkSync(`/proc/${pid}/ns/pid`) === hostNs) hostSide += pssKb(pid);
      for (const pid of namespaceMembers(rt.init.pid)) inside += pssKb(pid);
    }
    const memDrop = memBefore - memAvailableKb();
    const bareP50 = p50(bareTimes);
    const execP50 = p50(execTimes);
    const rows: Array<[string, string, string, string]> = [
      ['exec true (p50)', ms(execP50), `bare bwrap true ${ms(bareP50)}`, `${execP50 >= bareP50 ? '+' : ''}${ms(execP50 - bareP50)} (${(execP50 / bareP50).toFixed(2)}x; target ≤ +30 ms)`],
      ['create → first exec (p50)', ms(p50(createTimes)), `bare bwrap true ${ms(bareP50)}`, `${(p50(createTimes) / bareP50).toFixed(1)}x`],
      ['create → first exec, bash setup (p50)', ms(p50(bashTimes)), `km-setup ${ms(p50(createTimes))}`, `${(p50(createTimes) / p50(bashTimes)).toFixed(2)}x of bash`],
      [`host-side PSS per sandbox (${SANDBOXES} idle)`, mib(hostSide / SANDBOXES), 'target 5 MiB', `${(hostSide / SANDBOXES / 5120).toFixed(2)} of target`],
      ['in-sandbox PSS per sandbox', mib(inside / SANDBOXES), 'init + 5 bridges + holder', ''],
      ['MemAvailable drop per sandbox', mib(memDrop / SANDBOXES), 'incl. kernel: ns, overlay, tmpfs', ''],
    ];
    const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
    process.stdout.write(`local substrate (uid ${process.getuid?.()}, ${N} execs, ${SANDBOXES} sandboxes)\n`);
    for (const r of rows) process.stdout.write(`${r.map((x, i) => x.padEnd(w[i] ?? 0)).join('  ')}\n`);
  } finally {
    for (const id of ids) await sub.destroy(id);
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
