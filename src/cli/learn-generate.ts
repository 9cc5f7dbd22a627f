/**
 * `km learn generate` (SPEC §7): observations → annotated profile written next to the
 * user (never over an existing file), or `--diff P` against a resolved profile. The file
 * is validated after writing; a generated profile that does not validate is a bug.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { KmError } from '../core/errors.ts';
import { baseAllows, countsLine, generateProfile, listsOf, profileDiff, renderDiff, type Generated, type GenerateOptions } from '../learn/index.ts';
import { resolveProfile, type ResolvedProfile } from '../profile/index.ts';
import type { LearnContext } from './learn-context.ts';
import { writeJson } from './output.ts';
import { operatorProfileOptions } from './profile-commands.ts';
import { diagnosticLine } from './profile-render.ts';
import { resolveForCreate } from './create-context.ts';
import { type CommandContext, optStr } from './spec.ts';

export const DEFAULT_OUTPUT = 'observed-profile.yaml';
const ENFORCEMENT = ['proxy', 'ebpf', 'both'] as const;

export interface LearnGenerateOptions {
  session?: string;
  base?: string;
  exact: boolean;
  output?: string;
  diff?: string;
}

export function generateOptionsOf(ctx: CommandContext): LearnGenerateOptions {
  const o: LearnGenerateOptions = { exact: ctx.opts.exact === true };
  for (const k of ['session', 'base', 'output', 'diff'] as const) {
    const v = optStr(ctx, k);
    if (v === '') throw new KmError('usage', `--${k} needs a value`);
    if (v !== undefined) o[k] = v;
  }
  if (o.diff !== undefined && o.base !== undefined) {
    throw new KmError('usage', 'flag conflict: --diff compares with a whole profile; --base leaves its entries out', { hint: 'use one of them' });
  }
  if (o.diff !== undefined && o.output !== undefined) {
    throw new KmError('usage', 'flag conflict: --diff writes no file, so -o has nothing to write', { hint: 'drop -o, or drop --diff to write the profile' });
  }
  return o;
}

/** `observed-profile.yaml`, or `observed-profile.<YYYYMMDD-HHMMSS>.yaml` when that exists. */
export function freshPath(wanted: string, stamp: string, exists: (p: string) => boolean = existsSync): string {
  if (!exists(wanted)) return wanted;
  const ext = extname(wanted);
  const stem = join(dirname(wanted), basename(wanted, ext));
  for (let i = 1; ; i++) {
    const p = `${stem}.${stamp}${i === 1 ? '' : `-${i}`}${ext}`;
    if (!exists(p)) return p;
  }
}

/** The `extends` text for a base: its name, or its file relative to where the output goes. */
function extendsRef(ref: string, resolved: ResolvedProfile, outFile: string): string {
  const looksLikePath = ref.includes('/') || /\.ya?ml$/i.test(ref);
  if (!looksLikePath || resolved.file === null) return ref;
  const rel = relative(dirname(outFile), resolved.file);
  return rel.startsWith('.') || isAbsolute(rel) ? rel : `./${rel}`;
}

function enforcementOf(l: LearnContext): GenerateOptions['enforcement'] {
  const e = l.sandbox.enforcementRequested;
  const found = ENFORCEMENT.find((x) => x === e);
  if (!found) throw new KmError('internal', `${l.sandbox.id} has an unknown enforcement "${e}"`);
  return found;
}

function validateWritten(ctx: CommandContext, file: string, opts: Awaited<ReturnType<typeof operatorProfileOptions>>): void {
  const r = resolveProfile(file, opts);
  if (r.ok) return;
  for (const d of r.errors) ctx.io.stderr.write(diagnosticLine(d) + '\n');
  throw new KmError('internal', `the generated profile ${file} does not validate`, { hint: 'it was kept for inspection' });
}

function report(ctx: CommandContext, g: Generated, file: string | null, sessionId: string): void {
  if (ctx.global.json) {
    writeJson(ctx.io, { file, session_id: sessionId, profile: g.profile, counts: g.counts, suffix_map: g.suffixMap, left_out_by_base: g.leftOutByBase, warnings: g.warnings });
  }
  for (const w of g.warnings) ctx.io.stderr.write(`warning: ${w}\n`);
}

export async function learnGenerate(ctx: CommandContext, l: LearnContext, o: LearnGenerateOptions): Promise<void> {
  const { session, observations } = await l.learn.observations(l.sandbox, o.session);
  const nowMs = ctx.clock.now();
  const enforcement = enforcementOf(l);
  const compileOpts = { sandboxId: l.sandbox.id, extraMeteringHosts: l.c.config.metering.extra_hosts, hostOverrides: l.c.config.gateway.host_overrides };
  if (o.diff !== undefined) {
    const against = resolveForCreate(ctx, l.c, o.diff);
    const g = generateProfile(observations, { exact: o.exact, enforcement, nowMs });
    const d = profileDiff(listsOf(g.profile), listsOf(against.profile));
    if (ctx.global.json) writeJson(ctx.io, d);
    else ctx.io.stdout.write(renderDiff(d, o.diff));
    for (const w of g.warnings) ctx.io.stderr.write(`warning: ${w}\n`);
    return;
  }
  const stampText = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const wanted = resolve(ctx.cwd, o.output ?? DEFAULT_OUTPUT);
  const file = freshPath(wanted, stampText);
  let base: GenerateOptions['base'];
  if (o.base !== undefined) {
    const resolved = resolveForCreate(ctx, l.c, o.base);
    base = { name: extendsRef(o.base, resolved, file), allows: baseAllows(resolved.profile.spec, compileOpts) };
  }
  const g = generateProfile(observations, { exact: o.exact, enforcement, nowMs, ...(base ? { base } : {}) });
  writeFileSync(file, g.yaml, { flag: 'wx', mode: 0o644 });
  validateWritten(ctx, file, await operatorProfileOptions(ctx));
  const shown = relative(ctx.cwd, file).startsWith('..') ? file : relative(ctx.cwd, file);
  report(ctx, g, file, session.id);
  if (file !== wanted) ctx.io.stderr.write(`${relative(ctx.cwd, wanted) || wanted} exists; wrote ${shown} instead (nothing was overwritten)\n`);
  if (!ctx.global.json) {
    ctx.io.stdout.write(`Wrote ${shown} from learn session ${session.id} of ${l.label} (observed: ${countsLine(g.counts)})\n`);
  }
  ctx.io.stderr.write(`Review it, then: km validate ${shown}\n`);
}
