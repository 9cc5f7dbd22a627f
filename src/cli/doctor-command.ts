/** `km doctor [--json] [--quiet] [--fix]` (SPEC §14.3): exit 1 if any check fails. */
import { applyFixes, renderDoctor, runChecks, summarize } from '../doctor/index.ts';
import { doctorContext, doctorFixers } from './doctor-context.ts';
import { colors, writeJson } from './output.ts';
import type { CommandModule } from './spec.ts';

export const doctorCommand: CommandModule = {
  async run(ctx) {
    const make = () => doctorContext({ env: ctx.env, cwd: ctx.cwd, nowMs: ctx.clock.now() });
    const dctx = make();
    if (!ctx.global.json) ctx.io.stderr.write('km doctor: probing the host, the store and kmd…\n');
    let results = await runChecks(dctx);
    let fixes: Awaited<ReturnType<typeof applyFixes>>['fixes'] = [];
    if (ctx.opts.fix === true) ({ results, fixes } = await applyFixes(results, dctx, doctorFixers(ctx.env), make));
    const counts = summarize(results);
    const ok = counts.fail === 0;
    if (ctx.global.json) {
      const checks = ctx.opts.quiet === true ? results.filter((r) => r.status !== 'pass') : results;
      writeJson(ctx.io, { ok, summary: counts, checks, fixes });
    } else {
      ctx.io.stdout.write(renderDoctor(results, fixes, { quiet: ctx.opts.quiet === true, paint: colors(ctx.global.color) }));
    }
    return ok ? 0 : 1;
  },
};
