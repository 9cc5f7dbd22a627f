/**
 * One machine-readable line per target, printed by each bench script after its human table,
 * and collected by `bench/run.ts` into the summary:
 *   BENCH-RESULT {"target":…,"measured":…,"baseline":…,"ratio":…,"pass":true}
 */
export interface BenchResult {
  /** The requirement, with its threshold. */
  target: string;
  measured: string;
  /** What it was compared with in the same run. */
  baseline: string;
  ratio: string;
  pass: boolean;
}

export const RESULT_PREFIX = 'BENCH-RESULT ';

export function emitResult(r: BenchResult): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`);
}
