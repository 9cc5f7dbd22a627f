/** Queuing `km create --prompt …` runs once the sandbox exists (loaded only when prompts were given). */
import { exitCodeOf, queuePrompts, runningDocument, waitRun } from '../agent/index.ts';
import { agentCli } from './agent-context.ts';
import type { CommandContext } from './spec.ts';

/** Queues the runs; with `--wait`, waits for all and returns the first non-success exit code. */
export async function queueCreatePrompts(ctx: CommandContext, sandboxId: string, prompts: readonly string[]): Promise<{ code: number; runIds: string[]; results: unknown[] }> {
  const a = await agentCli({ ...ctx, args: [sandboxId] });
  try {
    const runs = await queuePrompts(a.store, a.sandbox, prompts.map((prompt) => ({ prompt })), ctx.clock);
    const runIds = runs.map((r) => r.runId);
    ctx.io.stderr.write(`Queued ${runs.length} run${runs.length === 1 ? '' : 's'} on ${a.name}: ${runIds.join(', ')}\n`);
    if (ctx.opts.wait !== true) return { code: 0, runIds, results: [] };
    const deps = await a.deps();
    let code = 0;
    const results: unknown[] = [];
    for (const id of runIds) {
      const final = await waitRun(deps, a.sandbox, id, { reloadSandbox: () => a.reload() });
      results.push(runningDocument(a.sandbox, final, ctx.clock.now()));
      const c = exitCodeOf(final.status);
      if (code === 0 && c !== 0) code = c;
    }
    return { code, runIds, results };
  } finally {
    await a.close();
  }
}
