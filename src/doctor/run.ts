/** Running the checks, and `--fix`: safe repairs, each reported, then the check re-run. */
import { agentClisCheck, bubblewrapCheck, dockerCheck, nftablesCheck, overlayCheck, socatCheck, tmuxCheck, userNamespacesCheck } from './checks-sandboxing.ts';
import { bpfCheck, cgroupsCheck } from './checks-cgroups.ts';
import { caExpiryCheck, configCheck, daemonCheck, diskSpaceCheck, nodeCheck, stateDirCheck, staleSandboxesCheck, storeCheck } from './checks-state.ts';
import type { Check, CheckResult, DoctorContext } from './types.ts';

/** The local checks, in report order (SPEC §14.3). */
export const LOCAL_CHECKS: readonly Check[] = [
  nodeCheck,
  configCheck,
  stateDirCheck,
  storeCheck,
  daemonCheck,
  userNamespacesCheck,
  bubblewrapCheck,
  overlayCheck,
  nftablesCheck,
  cgroupsCheck,
  bpfCheck,
  tmuxCheck,
  socatCheck,
  diskSpaceCheck,
  staleSandboxesCheck,
  caExpiryCheck,
  dockerCheck,
  agentClisCheck,
];

async function runOne(check: Check, ctx: DoctorContext): Promise<CheckResult> {
  try {
    return { name: check.name, ...(await check.run(ctx)) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { name: check.name, status: 'fail', message: `the check itself failed: ${msg}`, hint: 'this is a bug; rerun with --debug and report the output' };
  }
}

/** Runs checks concurrently; results keep the order of `checks`. */
export function runChecks(ctx: DoctorContext, checks: readonly Check[] = LOCAL_CHECKS): Promise<CheckResult[]> {
  return Promise.all(checks.map((c) => runOne(c, ctx)));
}

export interface FixRecord {
  check: string;
  action: string;
  ok: boolean;
  message: string;
}

/** Repairs `--fix` may apply; every one is safe to run at any time. */
export interface Fixers {
  /** Removes the socket and pid file of a dead kmd; returns the paths removed. */
  clearStaleDaemonFiles(): Promise<string[]>;
  /** Stops a hung or mismatched kmd and starts the current one; returns its pid. */
  restartDaemon(): Promise<number>;
  /** chmod 700 on the state directory. */
  tightenStateDir(): Promise<void>;
}

const msgOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function attempt(check: string, action: string, fn: () => Promise<string>): Promise<FixRecord> {
  try {
    return { check, action, ok: true, message: await fn() };
  } catch (e) {
    return { check, action, ok: false, message: msgOf(e) };
  }
}

async function fixFor(r: CheckResult, ctx: DoctorContext, fixers: Fixers): Promise<FixRecord | undefined> {
  if (r.status === 'pass' || r.status === 'skip') return undefined;
  // state-dir only warns about permissions that are too open.
  if (r.name === 'state-dir' && r.status === 'warn') {
    return attempt(r.name, 'chmod 700 state directory', async () => {
      await fixers.tightenStateDir();
      return `set mode 0700 on ${ctx.stateDir}`;
    });
  }
  if (r.name !== 'daemon') return undefined;
  const d = await ctx.daemon();
  if (d.running || d.hung) {
    return attempt(r.name, 'restart kmd', async () => `kmd restarted (pid ${await fixers.restartDaemon()})`);
  }
  if (d.staleSocket || d.stalePidFile) {
    return attempt(r.name, 'remove stale kmd files', async () => {
      const removed = await fixers.clearStaleDaemonFiles();
      return removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing left to remove';
    });
  }
  return undefined;
}

/**
 * Applies the safe repairs for the failing/warning results, then re-runs the repaired
 * checks with `fresh()` (a context whose memoised probes are reset).
 */
export async function applyFixes(
  results: readonly CheckResult[],
  ctx: DoctorContext,
  fixers: Fixers,
  fresh: () => DoctorContext,
  checks: readonly Check[] = LOCAL_CHECKS,
): Promise<{ results: CheckResult[]; fixes: FixRecord[] }> {
  const fixes: FixRecord[] = [];
  for (const r of results) {
    const f = await fixFor(r, ctx, fixers);
    if (f) fixes.push(f);
  }
  if (fixes.length === 0) return { results: [...results], fixes };
  const again = fresh();
  const rerun = new Set(fixes.map((f) => f.check));
  const out = await Promise.all(results.map(async (r) => {
    const check = checks.find((c) => c.name === r.name);
    return rerun.has(r.name) && check ? runOne(check, again) : r;
  }));
  return { results: out, fixes };
}

export function summarize(results: readonly CheckResult[]): Record<'pass' | 'warn' | 'fail' | 'skip', number> {
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}
