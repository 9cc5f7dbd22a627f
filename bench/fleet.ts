/**
 * Fleet benchmark through the real CLI (`bin/km`, kmd started on demand, temp KM_HOME), with
 * the `srt` CLI and bare bubblewrap measured side by side in the same run (interleaved).
 *
 *   scripts/node bench/fleet.ts [--n 10] [--fleet 100] [--parallel 3]
 *
 * - create → first exec: `km create` then `km exec <alias> -- true` (p50 over --n creates);
 *   target ≤ 150 ms. Baseline: `srt true` (it too makes a fresh sandbox for one command).
 * - `km exec <alias> -- true` vs `bwrap --unshare-all … true` vs `srt true` (p50 over --n,
 *   interleaved); target: km ≤ bare bwrap + 30 ms. `km --version` shows the CLI start floor.
 * - --fleet idle sandboxes (created --parallel at a time): host-side memory per sandbox =
 *   PSS of host-PID-namespace processes under kmd and the bwrap monitors, plus kmd's PSS
 *   growth per sandbox (the gateway share); target ≤ 5 MiB. In-sandbox PSS and the
 *   MemAvailable drop are printed for context.
 * - `km list` (and `--json`) with the fleet present: p50 of 5; target ≤ 200 ms.
 * Everything is destroyed and kmd stopped at the end, also on failure or Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { emitResult } from './report.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10' }, fleet: { type: 'string', default: '100' }, parallel: { type: 'string', default: '3' } } });
const N = Number(values.n);
const FLEET = Number(values.fleet);
const PAR = Number(values.parallel);
const ROOT = resolve(import.meta.dirname, '..');
const KM = join(ROOT, 'bin/km');
const SRT = join(ROOT, 'node_modules/.bin/srt');
const BARE = ['bwrap', '--unshare-all', '--unshare-user', '--uid', '1000', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', 'true'];

const PROFILE = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: benchfleet
spec:
  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy }
  network:
    egress:
      allowedHosts: []
`;

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const mib = (kb: number): string => `${(kb / 1024).toFixed(2)} MiB`;

interface Out { code: number | null; stdout: string; stderr: string; ms: number }

function run(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Out> {
  return new Promise((done, reject) => {
    const t0 = performance.now();
    const c = spawn(argv[0] as string, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => done({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

async function must(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Out> {
  const o = await run(argv, env, cwd);
  if (o.code !== 0) throw new Error(`${argv.join(' ')} exited ${o.code}: ${o.stderr.slice(-600)}`);
  return o;
}

function pssKb(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const memAvailableKb = (): number => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);

interface Proc { pid: number; ppid: number; pidns: string }

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(e), ppid, pidns: readlinkSync(`/proc/${e}/ns/pid`) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** PSS of the host-side helpers (host PID namespace, under kmd or a bwrap monitor) and of everything inside. */
function fleetMemory(home: string, kmdPid: number): { hostKb: number; insideKb: number; hostProcs: number } {
  const rts = readdirSync(join(home, 'sandboxes')).flatMap((id) => {
    try {
      return [JSON.parse(readFileSync(join(home, 'sandboxes', id, 'runtime.json'), 'utf8')) as { bwrap: { pid: number }; init: { pid: number } }];
    } catch {
      return [];
    }
  });
  const procs = processes();
  const hostNs = readlinkSync('/proc/self/ns/pid');
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const host = new Set<number>();
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      if (byPid.get(c)?.pidns !== hostNs || host.has(c)) continue;
      host.add(c);
      walk(c);
    }
  };
  walk(kmdPid);
  for (const rt of rts) {
    host.add(rt.bwrap.pid);
    walk(rt.bwrap.pid);
  }
  const insideNs = new Set(rts.map((rt) => byPid.get(rt.init.pid)?.pidns).filter((x): x is string => x !== undefined));
  let hostKb = 0;
  for (const pid of host) hostKb += pssKb(pid);
  let insideKb = 0;
  for (const p of procs) if (insideNs.has(p.pidns)) insideKb += pssKb(p.pid);
  return { hostKb, insideKb, hostProcs: host.size };
}

async function pool<T>(items: T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x);
  }));
}

/** bin/km runs the bundled build only while it is newer than every source: build it first. */
function distFresh(): boolean {
  return spawnSync(join(ROOT, 'scripts/node'), [join(ROOT, 'scripts/build.ts'), '--check'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  if (!distFresh() && spawnSync(join(ROOT, 'scripts/node'), [join(ROOT, 'scripts/build.ts')], { stdio: 'inherit' }).status !== 0) throw new Error('building dist/ failed');
  const dir = mkdtempSync(join(tmpdir(), 'km-bench-fleet-'));
  const home = join(dir, 'home');
  const env: NodeJS.ProcessEnv = { ...process.env, KM_HOME: home, KM_MAX_SANDBOXES: String(FLEET + N + 10), KM_GATEWAY_UPSTREAM_DNS: '127.0.0.1:9', NO_COLOR: '1', TZ: 'UTC' };
  const profile = join(dir, 'benchfleet.yaml');
  writeFileSync(profile, PROFILE);
  const srtSettings = join(dir, 'srt-settings.json');
  writeFileSync(srtSettings, JSON.stringify({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } }));
  const km = (args: string[]): Promise<Out> => must([KM, ...args], env, dir);
  let cleaning = false;
  const cleanup = async (): Promise<void> => {
    if (cleaning) return;
    cleaning = true;
    const list = await run([KM, 'list', '--json'], env, dir).catch(() => undefined);
    const items = list?.code === 0 ? (JSON.parse(list.stdout) as Array<{ id: string; locked: boolean }>) : [];
    await pool(items, 3, async (s) => {
      if (s.locked) await run([KM, 'unlock', s.id], env, dir);
      const d = await run([KM, 'destroy', s.id, '--yes'], env, dir);
      if (d.code !== 0) process.stderr.write(`fleet: destroy ${s.id} failed: ${d.stderr}\n`);
    });
    await run([KM, 'daemon', 'stop'], env, dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const srt = (): Promise<Out> => must([SRT, '-s', srtSettings, 'true'], env, dir);
    await must(BARE, env, dir); // warm-up
    await srt();
    await must([KM, '--version'], env, dir);
    await km(['daemon', 'start']).catch(() => undefined);
    const t: Record<'create' | 'exec' | 'bare' | 'srt' | 'version', number[]> = { create: [], exec: [], bare: [], srt: [], version: [] };
    for (let i = 0; i < N; i++) {
      const alias = `lat${i}`;
      const c = await km(['create', profile, '--alias', alias]);
      const e = await km(['exec', alias, '--', 'true']);
      t.create.push(c.ms + e.ms);
      t.srt.push((await srt()).ms);
      t.bare.push((await must(BARE, env, dir)).ms);
      t.exec.push((await km(['exec', alias, '--', 'true'])).ms);
      t.version.push((await must([KM, '--version'], env, dir)).ms);
    }
    const kmdPid = Number(readFileSync(join(home, 'kmd.pid'), 'utf8').trim().split(/\s/)[0]);
    const kmd0 = pssKb(kmdPid);
    const mem0 = memAvailableKb();
    const t0 = performance.now();
    const aliases = Array.from({ length: FLEET - N }, (_, i) => `f${i}`);
    await pool(aliases, PAR, async (a) => void (await km(['create', profile, '--alias', a])));
    const fillS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    const kmd1 = pssKb(kmdPid);
    const memDrop = mem0 - memAvailableKb();
    const fm = fleetMemory(home, kmdPid);
    const list: number[] = [];
    const listJson: number[] = [];
    for (let i = 0; i < 5; i++) {
      list.push((await km(['list'])).ms);
      const j = await km(['list', '--json']);
      listJson.push(j.ms);
      if (i === 0 && (JSON.parse(j.stdout) as unknown[]).length !== FLEET) throw new Error(`km list shows ${(JSON.parse(j.stdout) as unknown[]).length} sandboxes, expected ${FLEET}`);
    }
    const added = FLEET - N;
    const kmdShare = (kmd1 - kmd0) / Math.max(1, added);
    const hostPer = fm.hostKb / FLEET + kmdShare;
    const [cP, eP, bP, sP, vP, lP, ljP] = [t.create, t.exec, t.bare, t.srt, t.version, list, listJson].map(p50) as [number, number, number, number, number, number, number];
    const rows: string[][] = [
      ['create → first exec (p50)', ms(cP), `srt true ${ms(sP)}`, `${(cP / sP).toFixed(2)}x srt`, '≤ 150 ms'],
      ['km exec true (p50)', ms(eP), `bare bwrap ${ms(bP)}`, `+${ms(eP - bP)}; ${(eP / sP).toFixed(2)}x srt (${ms(sP)})`, '≤ bare + 30 ms'],
      ['  km --version (CLI start floor)', ms(vP), `bare bwrap ${ms(bP)}`, `+${ms(vP - bP)}`, ''],
      [`host-side memory per sandbox (${FLEET} idle)`, mib(hostPer), `helpers ${mib(fm.hostKb / FLEET)} + kmd ${mib(kmdShare)}`, `${(hostPer / 5120).toFixed(2)} of target`, '≤ 5 MiB'],
      ['  in-sandbox PSS per sandbox', mib(fm.insideKb / FLEET), `${fm.hostProcs} host-side processes`, '', ''],
      ['  MemAvailable drop per sandbox', mib(memDrop / added), `fill took ${fillS.toFixed(0)} s`, '', ''],
      [`km list, ${FLEET} sandboxes (p50)`, ms(lP), `--json ${ms(ljP)}`, `${(lP / 200).toFixed(2)} of target`, '≤ 200 ms'],
    ];
    const w = [0, 1, 2, 3, 4].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)));
    const cli = distFresh() ? 'bundled dist/' : 'SOURCES (a source changed during the run: numbers mix bundled and source runs)';
    console.log(`fleet bench via bin/km, ${cli} (uid ${process.getuid?.()}, n=${N}, fleet=${FLEET}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
    for (const r of rows) console.log(r.map((x, i) => x.padEnd(w[i] ?? 0)).join('  '));
    emitResult({ target: 'km create → first km exec true, p50 ≤ 150 ms', measured: ms(cP), baseline: `srt true ${ms(sP)}`, ratio: `${(cP / sP).toFixed(2)}x srt`, pass: cP <= 150 });
    emitResult({ target: 'km exec true p50 ≤ bare bwrap + 30 ms', measured: ms(eP), baseline: `bwrap ${ms(bP)}, srt ${ms(sP)}`, ratio: `+${ms(eP - bP)}`, pass: eP - bP <= 30 });
    emitResult({ target: `host memory per idle sandbox ≤ 5 MiB (${FLEET})`, measured: mib(hostPer), baseline: '5 MiB', ratio: `${(hostPer / 5120).toFixed(2)}`, pass: hostPer <= 5120 });
    emitResult({ target: `km list with ${FLEET} sandboxes ≤ 200 ms`, measured: ms(lP), baseline: '200 ms', ratio: `${(lP / 200).toFixed(2)}`, pass: lP <= 200 });
  } finally {
    await cleanup();
  }
}

await main();
