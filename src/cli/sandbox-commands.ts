/** `km create | list | status | pause | resume | stop | destroy | lock | unlock | extend | clone` (SPEC §8). */
import { parseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { cloneAliases, overrideProfile, parseUsd, type CreateOverrides, type OpResult, type SandboxJson, type SandboxStatusJson } from '../sandbox/index.ts';
import { createPrompts, queueCreatePrompts } from './create-prompts.ts';
import { writeJson } from './output.ts';
import { kmd, streamRequest, type StreamLine } from './sandbox-client.ts';
import { confirm } from './sandbox-confirm.ts';
import { createConfigOf, resolveForCreate, sandboxContext } from './sandbox-context.ts';
import { createdLine, renderList, renderStatus } from './sandbox-render.ts';
import type { CommandContext, CommandModule } from './spec.ts';

export { execCommand, shellCommand } from './sandbox-exec.ts';
export { imageBakeCommand, imageDeleteCommand, imageListCommand } from './sandbox-images.ts';

const optStr = (ctx: CommandContext, name: string): string | undefined => (typeof ctx.opts[name] === 'string' ? (ctx.opts[name] as string) : undefined);

function overridesOf(ctx: CommandContext): CreateOverrides {
  const o: CreateOverrides = {};
  const ttl = optStr(ctx, 'ttl');
  const idle = optStr(ctx, 'idle');
  const ai = optStr(ctx, 'ai');
  const compute = optStr(ctx, 'compute');
  const substrate = optStr(ctx, 'substrate');
  if (ttl !== undefined) o.ttl = ttl;
  if (idle !== undefined) o.idle = idle;
  if (ai !== undefined) o.ai = parseUsd('ai', ai);
  if (compute !== undefined) o.compute = parseUsd('compute', compute);
  if (substrate !== undefined) o.substrate = substrate;
  if (ctx.opts.docker === true) o.docker = true;
  if (ctx.opts['on-demand'] === true) o.onDemand = true;
  if (ctx.opts['no-bedrock'] === true) o.noBedrock = true;
  return o;
}

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
    const q = await queueCreatePrompts(ctx, j.id, prompts);
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

export const listCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const items = await k.client.request<SandboxJson[]>('GET', `/v1/sandboxes${ctx.opts.all === true ? '?all=1' : ''}`);
    if (ctx.global.json) writeJson(ctx.io, items);
    else ctx.io.stdout.write(renderList(items, ctx.clock.now(), ctx.opts.wide === true));
  },
};

export const statusCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const ref = ctx.args[0];
    if (ref === undefined) {
      const items = await k.client.request<SandboxJson[]>('GET', '/v1/sandboxes');
      const all = await Promise.all(items.map((i) => k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${i.id}`)));
      if (ctx.global.json) writeJson(ctx.io, all);
      else ctx.io.stdout.write(all.length === 0 ? 'No sandboxes. Try: km create learn --alias demo\n' : all.map(renderStatus).join('\n'));
      return;
    }
    const s = await k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${encodeURIComponent(ref)}`);
    if (ctx.global.json) writeJson(ctx.io, s);
    else ctx.io.stdout.write(renderStatus(s));
  },
};

function opCommand(op: string, method: 'POST' | 'DELETE' = 'POST'): CommandModule {
  return {
    async run(ctx) {
      const c = await sandboxContext(ctx);
      const k = await kmd(ctx, c.stateDir);
      const ref = encodeURIComponent(ctx.args[0] as string);
      const path = method === 'DELETE' ? `/v1/sandboxes/${ref}${ctx.opts.purge === true ? '?purge=1' : ''}` : `/v1/sandboxes/${ref}/${op}`;
      const r = await k.client.request<OpResult>(method, path, { time_zone: c.timeZone }, { timeoutMs: 120_000 });
      if (ctx.global.json) writeJson(ctx.io, { message: r.message, changed: r.changed, sandbox: r.sandbox });
      else ctx.io.stdout.write(r.message + '\n');
    },
  };
}

export const pauseCommand = opCommand('pause');
export const resumeCommand = opCommand('resume');
export const stopCommand = opCommand('stop');
export const lockCommand = opCommand('lock');
export const unlockCommand = opCommand('unlock');
const destroyOp = opCommand('destroy', 'DELETE');

export const destroyCommand: CommandModule = {
  async run(ctx) {
    if (ctx.opts.yes !== true) {
      const c = await sandboxContext(ctx);
      const k = await kmd(ctx, c.stateDir);
      const s = await k.client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${encodeURIComponent(ctx.args[0] as string)}`);
      const label = s.alias ?? s.id;
      if (s.status === 'destroyed') throw new KmError('not_found', `${s.id} was destroyed at ${s.destroyed_at ?? s.created_at}`);
      if (ctx.io.stdin.isTTY !== true || ctx.io.stderr.isTTY !== true) {
        throw new KmError('usage', `destroying ${label} needs confirmation; re-run with --yes`);
      }
      if (!(await confirm(ctx, `Destroy ${label} (${s.id}) and everything it owns?`))) {
        ctx.io.stderr.write('Nothing destroyed.\n');
        return 1;
      }
    }
    return destroyOp.run(ctx);
  },
};

export const extendCommand: CommandModule = {
  async run(ctx) {
    const byText = ctx.args[1];
    const idleText = optStr(ctx, 'idle');
    if (byText === undefined && idleText === undefined) throw new KmError('usage', 'nothing to extend; give a duration and/or --idle');
    const body: Record<string, unknown> = {};
    if (byText !== undefined) {
      body.by_s = parseDuration(byText, { spelled: true });
      body.by_text = byText;
    }
    if (idleText !== undefined) body.idle_s = parseDuration(idleText, { spelled: true, allowZero: true });
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const r = await k.client.request<OpResult>('POST', `/v1/sandboxes/${encodeURIComponent(ctx.args[0] as string)}/extend`, { ...body, time_zone: c.timeZone });
    if (ctx.global.json) writeJson(ctx.io, { message: r.message, changed: r.changed, sandbox: r.sandbox });
    else ctx.io.stdout.write(r.message + '\n');
  },
};
