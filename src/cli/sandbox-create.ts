/** `km create` and `km clone` (SPEC §8.1, §8.12): resolve the profile here, build in kmd with progress streamed. */
import { KmError } from '../core/errors.ts';
import { cloneAliases } from '../sandbox/clone-aliases.ts';
import { overrideProfile, overridesFromFlags, type CreateOverrides } from '../sandbox/overrides.ts';
import type { SandboxJson } from '../sandbox/index.ts';
import { createConfigOf, resolveForCreate } from './create-context.ts';
import { createPrompts } from './create-prompts.ts';
import { writeJson } from './output.ts';
import { kmd, streamRequest, type StreamLine } from './sandbox-client.ts';
import { sandboxContext } from './sandbox-context.ts';
import { createdLine } from './sandbox-render.ts';
import { type CommandContext, type CommandModule, optStr } from './spec.ts';

const overridesOf = (ctx: CommandContext): CreateOverrides => overridesFromFlags(ctx.opts);

function progressPrinter(ctx: CommandContext): (l: StreamLine) => void {
  return (l) => {
    if (l.type === 'step') ctx.io.stderr.write(`${String(l.message)}\n`);
    else if (l.type === 'warning') ctx.io.stderr.write(`warning: ${String(l.message)}\n`);
    else if (l.type === 'output') ctx.io.stderr.write(String(l.data));
  };
}

export const createCommand: CommandModule = {
  async run(ctx) {
    const prompts = await createPrompts(ctx);
    const c = await sandboxContext(ctx);
    const resolved = resolveForCreate(ctx, c, ctx.args[0] as string);
    if (resolved.abstract) throw new KmError('profile_invalid', 'cannot create from an abstract fragment; use a profile that extends it');
    const overrides = overridesOf(ctx);
    overrideProfile(resolved.profile, overrides);
    const config = createConfigOf(c, ctx);
    const k = await kmd(ctx, c.stateDir);
    const body = { profile: resolved.profile, profileName: resolved.name, abstract: resolved.abstract, alias: optStr(ctx, 'alias') ?? null, overrides, config, createdBy: 'cli', timeZone: c.timeZone };
    const j = await streamRequest<SandboxJson>(k.socketPath, 'POST', '/v1/sandboxes', body, progressPrinter(ctx));
    if (prompts.length === 0) {
      if (ctx.global.json) writeJson(ctx.io, j);
      else ctx.io.stdout.write(createdLine(j) + '\n');
      return 0;
    }
    if (!ctx.global.json) ctx.io.stdout.write(createdLine(j) + '\n');
    const q = await (await import('./create-queue.ts')).queueCreatePrompts(ctx, j.id, prompts);
    if (ctx.global.json) writeJson(ctx.io, { ...j, queued_runs: q.runIds, ...(ctx.opts.wait === true ? { results: q.results } : {}) });
    else if (ctx.opts.wait === true) writeJson(ctx.io, q.results.length === 1 ? q.results[0] : q.results);
    return q.code;
  },
};

export const cloneCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx);
    const positional = ctx.args[1];
    const flag = optStr(ctx, 'alias');
    if (positional !== undefined && flag !== undefined && positional !== flag) {
      throw new KmError('usage', `flag conflict: alias given twice ("${positional}" and --alias ${flag})`, { hint: 'give it once' });
    }
    const countText = optStr(ctx, 'count') ?? '1';
    if (!/^\d+$/.test(countText)) throw new KmError('usage', `--count must be a number from 1 to 20, not "${countText}"`);
    const alias = positional ?? flag ?? null;
    cloneAliases(alias, Number(countText));
    const k = await kmd(ctx, c.stateDir);
    const body = { alias, count: Number(countText), noCopy: ctx.opts['no-copy'] === true, overrides: overridesOf(ctx), config: createConfigOf(c, ctx) };
    const made = await streamRequest<SandboxJson[]>(k.socketPath, 'POST', `/v1/sandboxes/${encodeURIComponent(ctx.args[0] as string)}/clone`, body, progressPrinter(ctx));
    if (ctx.global.json) writeJson(ctx.io, made);
    else for (const j of made) ctx.io.stdout.write(createdLine(j, 'Cloned') + '\n');
  },
};

