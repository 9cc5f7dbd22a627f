/**
 * Runs every bench script in sequence (each in its own process, output passed through) and
 * prints one summary: target, measured, baseline, ratio, pass/miss.
 *
 *   npm run bench [-- --quick] [-- --only dns,fleet]
 *
 * Scripts report their targets on `BENCH-RESULT {json}` lines (bench/report.ts); for the
 * ones that print only a table (metering, substrate-local) the rows are read from the table.
 * A script that is missing, fails or prints no result shows as a "failed" row.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RESULT_PREFIX, type BenchResult } from './report.ts';

interface Script {
  name: string;
  args: string[];
  quick: string[];
  /** Reads targets from a script's table when it prints no BENCH-RESULT lines. */
  parse?: (out: string) => BenchResult[];
  timeoutS: number;
}

const num = (re: RegExp, s: string): number => Number(re.exec(s)?.[1] ?? NaN);

function parseMetering(out: string): BenchResult[] {
  const cpu = /gateway CPU per stream \(ms\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x/.exec(out);
  const ttfb = /time to first byte p50 \(ms\)\s+([\d.]+)\s+([\d.]+)\s+([+-]?[\d.]+) ms/.exec(out);
  const res: BenchResult[] = [];
  if (cpu) res.push({ target: 'metering: gateway CPU per stream ≤ 1.05x unmetered', measured: `${cpu[1]} ms`, baseline: `unmetered ${cpu[2]} ms`, ratio: `${cpu[3]}x`, pass: Number(cpu[3]) <= 1.05 });
  if (ttfb) res.push({ target: 'metering: TTFB p50 ≤ +1 ms', measured: `${ttfb[1]} ms`, baseline: `unmetered ${ttfb[2]} ms`, ratio: `${ttfb[3]} ms`, pass: Number(ttfb[3]) <= 1 });
  return res;
}

function parseSubstrateLocal(out: string): BenchResult[] {
  const res: BenchResult[] = [];
  const exec = num(/exec true \(p50\)\s+([\d.]+) ms/, out);
  const bare = num(/bare bwrap true ([\d.]+) ms/, out);
  const create = num(/create → first exec \(p50\)\s+([\d.]+) ms/, out);
  const host = num(/host-side PSS per sandbox \(\d+ idle\)\s+([\d.]+) MiB/, out);
  if (!Number.isNaN(exec)) res.push({ target: 'substrate exec true ≤ bare bwrap + 30 ms', measured: `${exec} ms`, baseline: `bwrap ${bare} ms`, ratio: `+${(exec - bare).toFixed(1)} ms`, pass: exec - bare <= 30 });
  if (!Number.isNaN(create)) res.push({ target: 'substrate create → first exec ≤ 150 ms', measured: `${create} ms`, baseline: `bwrap ${bare} ms`, ratio: `${(create / bare).toFixed(1)}x bwrap`, pass: create <= 150 });
  if (!Number.isNaN(host)) res.push({ target: 'substrate host-side PSS per sandbox ≤ 5 MiB', measured: `${host} MiB`, baseline: '5 MiB', ratio: (host / 5).toFixed(2), pass: host <= 5 });
  return res;
}

const SCRIPTS: Script[] = [
  { name: 'gateway-http', args: [], quick: ['--n', '60', '--mb', '64'], timeoutS: 900 },
  { name: 'dns', args: [], quick: ['--seconds', '1', '--rounds', '1'], timeoutS: 600 },
  { name: 'gateway-memory', args: [], quick: ['--rounds', '1'], timeoutS: 900 },
  { name: 'metering', args: [], quick: ['--n', '16'], parse: parseMetering, timeoutS: 900 },
  { name: 'substrate-local', args: [], quick: ['--n', '10', '--sandboxes', '5'], parse: parseSubstrateLocal, timeoutS: 1200 },
  { name: 'fleet', args: [], quick: ['--n', '3', '--fleet', '10'], timeoutS: 3600 },
];

interface Outcome { name: string; results: BenchResult[]; failure: string | null; seconds: number }

function runScript(s: Script, quick: boolean): Promise<Outcome> {
  const file = join(import.meta.dirname, `${s.name}.ts`);
  if (!existsSync(file)) return Promise.resolve({ name: s.name, results: [], failure: 'script not present', seconds: 0 });
  process.stdout.write(`\n=== ${s.name} ===\n`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', file, ...(quick ? s.quick : s.args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => c.kill('SIGINT'), s.timeoutS * 1000);
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n').filter((l) => l.startsWith(RESULT_PREFIX));
      let results = lines.map((l) => JSON.parse(l.slice(RESULT_PREFIX.length)) as BenchResult);
      if (results.length === 0 && s.parse) results = s.parse(out);
      const failure = code !== 0 ? `exit ${code ?? signal}` : results.length === 0 ? 'no results printed' : null;
      resolve({ name: s.name, results, failure, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const only = values.only?.split(',');
  const chosen = SCRIPTS.filter((s) => !only || only.includes(s.name));
  const outcomes: Outcome[] = [];
  for (const s of chosen) outcomes.push(await runScript(s, values.quick));
  const rows = [['script', 'target', 'measured', 'baseline (same run)', 'ratio', 'result']];
  for (const o of outcomes) {
    for (const r of o.results) rows.push([o.name, r.target, r.measured, r.baseline, r.ratio, r.pass ? 'pass' : 'MISS']);
    if (o.failure) rows.push([o.name, '-', '-', '-', '-', `failed: ${o.failure}`]);
  }
  const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\n=== summary (${new Date().toISOString()}, load ${load}, ${outcomes.map((o) => `${o.name} ${o.seconds.toFixed(0)} s`).join(', ')}) ===`);
  console.log(table(rows));
  const misses = outcomes.flatMap((o) => o.results).filter((r) => !r.pass).length;
  const failed = outcomes.filter((o) => o.failure).length;
  console.log(`\n${rows.length - 1 - failed} targets measured: ${rows.length - 1 - failed - misses} pass, ${misses} miss; ${failed} script(s) failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
