/** `km learn start | stop | status | generate` (SPEC §7). */
import { toIso } from '../core/clock.ts';
import { localMinuteZone } from '../sandbox/index.ts';
import { learnGenerate, generateOptionsOf } from './learn-generate.ts';
import { withLearnContext } from './learn-context.ts';
import { renderLearnStatus } from './learn-render.ts';
import { writeJson } from './output.ts';
import type { CommandModule } from './spec.ts';

export const learnStartCommand: CommandModule = {
  run: (ctx) =>
    withLearnContext(ctx, ctx.args[0] as string, {}, async (l) => {
      const r = await l.learn.start(l.sandbox, 'cli');
      const since = localMinuteZone(r.session.startedAtMs, l.c.timeZone);
      if (ctx.global.json) {
        writeJson(ctx.io, { sandbox_id: l.sandbox.id, started: r.started, session_id: r.session.id, started_at: toIso(r.session.startedAtMs) });
      } else if (r.started) {
        ctx.io.stdout.write(`Recording ${l.label} (learn session ${r.session.id}); stop with km learn stop ${l.label}\n`);
      } else {
        ctx.io.stdout.write(`already recording since ${since} (learn session ${r.session.id} of ${l.label})\n`);
      }
    }),
};

export const learnStopCommand: CommandModule = {
  run: (ctx) =>
    withLearnContext(ctx, ctx.args[0] as string, { allowDestroyed: true }, async (l) => {
      const r = await l.learn.stop(l.sandbox, 'cli');
      if (ctx.global.json) {
        const s = r.session;
        writeJson(ctx.io, { sandbox_id: l.sandbox.id, stopped: r.stopped, session_id: s?.id ?? null, stopped_at: s?.stoppedAtMs ? toIso(s.stoppedAtMs) : null });
      } else if (r.session) {
        ctx.io.stdout.write(`Stopped learn session ${r.session.id} of ${l.label}; generate the profile with km learn generate ${l.label}\n`);
      } else {
        ctx.io.stdout.write(`${l.label} was not recording; nothing changed\n`);
      }
    }),
};

export const learnStatusCommand: CommandModule = {
  run: (ctx) =>
    withLearnContext(ctx, ctx.args[0] as string, { allowDestroyed: true }, async (l) => {
      const s = await l.learn.status(l.sandbox);
      if (ctx.global.json) writeJson(ctx.io, s);
      else ctx.io.stdout.write(renderLearnStatus(s, l.label, l.c.timeZone));
    }),
};

export const learnGenerateCommand: CommandModule = {
  run: async (ctx) => {
    const options = generateOptionsOf(ctx);
    await withLearnContext(ctx, ctx.args[0] as string, { allowDestroyed: true }, (l) => learnGenerate(ctx, l, options));
  },
};
