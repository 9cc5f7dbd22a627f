/**
 * `km shell --learn` (SPEC §7): record while `run` (the shell) is open and generate on
 * exit. When the sandbox is already recording (a learnMode profile, or km learn start),
 * that session is used and left open.
 */
import { renderError } from './output.ts';
import { generateOptionsOf, learnGenerate } from './learn-generate.ts';
import { withLearnContext } from './learn-context.ts';
import type { CommandContext } from './spec.ts';

/** Runs `run` inside a learn session of `ref`; returns run's exit code (1 if only generation failed). */
export async function withLearnSession(ctx: CommandContext, ref: string, run: () => Promise<number>): Promise<number> {
  const options = generateOptionsOf(ctx);
  const opened = await withLearnContext(ctx, ref, {}, async (l) => {
    const r = await l.learn.start(l.sandbox, 'shell');
    const what = r.started ? `Recording learn session ${r.session.id}` : `Already recording (learn session ${r.session.id})`;
    ctx.io.stderr.write(`${what} of ${l.label}; the profile is generated when the shell exits\n`);
    return r;
  });
  let code = 1;
  try {
    code = await run();
  } finally {
    if (opened.started) await withLearnContext(ctx, ref, { allowDestroyed: true }, (l) => l.learn.stop(l.sandbox, 'shell'));
  }
  try {
    await withLearnContext(ctx, ref, { allowDestroyed: true }, (l) => learnGenerate(ctx, l, { ...options, session: opened.session.id }));
  } catch (e) {
    renderError(ctx.io, e, ctx.global);
    return code === 0 ? 1 : code;
  }
  return code;
}
