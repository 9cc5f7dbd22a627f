/**
 * `km at '<when>' <command…>` (alias `km schedule`), SPEC §11. Parses the line, the time and
 * the scheduled command, checks what can be checked now, and with `--dry-run` prints the
 * schedule; otherwise saves it through kmd (`at-save.ts`).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadOperatorConfig, sqliteStorePath } from '../config/index.ts';
import { formatDiagnostic } from '../core/diagnostics.ts';
import { isKmError, KmError } from '../core/errors.ts';
import { resolveSandboxRef } from '../sandbox/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { assertCreatable, resolveProfile, type Substrate } from '../profile/index.ts';
import {
  createZone,
  customScheduleName,
  parseCronOption,
  parseSchedule,
  scheduleName,
  type ParseResult,
  type Schedule,
} from '../schedule-grammar/index.ts';
import { splitAtLine, type AtLine } from './at-args.ts';
import { dryRunJson, renderDryRun, scheduledLine } from './at-render.ts';
import { saveSchedule } from './at-save.ts';
import { scheduleTarget, validateScheduledCommand, type SandboxRef, type ScheduledCommand } from './at-scheduled.ts';
import { resolveScheduleTimeZone } from './at-timezone.ts';
import { writeJson } from './output.ts';
import { profileResolveOptions } from './profile-commands.ts';
import type { CommandContext, CommandModule } from './spec.ts';

/** Whether a sandbox reference names a sandbox now; 'unknown' when that cannot be checked. */
export type SandboxLookup = (ref: SandboxRef, ctx: CommandContext) => Promise<'found' | 'missing' | 'unknown'>;

/** A read-only look into the store (no daemon needed): no store on this machine, no sandbox. */
const storeLookup: SandboxLookup = async (ref, ctx) => {
  const { config, stateDir } = await loadOperatorConfig({ env: ctx.env, cwd: ctx.cwd });
  const path = sqliteStorePath(config, { stateDir, cwd: ctx.cwd, env: ctx.env });
  if (!existsSync(path)) return 'missing';
  const store = await openSqliteStore(path, { clock: ctx.clock });
  try {
    await resolveSandboxRef(store, ref.value);
    return 'found';
  } catch (e) {
    return isKmError(e) && e.code === 'not_found' ? 'missing' : 'unknown';
  } finally {
    await store.close();
  }
};

export interface AtDeps {
  lookupSandbox: SandboxLookup;
}

/** `--now`: RFC 3339 with an offset, or a wall time read in the schedule's zone. */
function parseNow(text: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/i.exec(text.trim());
  const bad = new KmError('usage', `--now: "${text}" is not an ISO 8601 time`, { hint: 'e.g. --now 2027-03-03T08:15:00+01:00' });
  if (!m) throw bad;
  if (m[7] !== undefined) {
    const ms = Date.parse(text.trim().replace(' ', 'T'));
    if (!Number.isFinite(ms)) throw bad;
    return ms;
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? '0')) as [number, number, number, number, number, number];
  return createZone(timeZone).toInstant({ year, month, day, hour, minute, second });
}

function parseWhen(line: AtLine, now: number, timeZone: string): Schedule {
  const r: ParseResult =
    line.cron !== undefined ? parseCronOption(line.cron, { now, timeZone }) : parseSchedule(line.phrase as string, { now, timeZone });
  if (r.ok) return r.schedule;
  const details = r.understood !== undefined ? { understood: r.understood, left: r.left ?? '' } : undefined;
  const hint = quoteHint(line, now, timeZone) ?? r.hint;
  throw new KmError('usage', r.message, details ? { hint, details } : { hint });
}

/** `km at 5pm tomorrow stop demo` (unquoted): point at the quoting. */
function quoteHint(line: AtLine, now: number, timeZone: string): string | undefined {
  if (line.phrase === undefined) return undefined;
  for (let k = 1; k < line.command.length; k++) {
    const phrase = [line.phrase, ...line.command.slice(0, k)].join(' ');
    if (!parseSchedule(phrase, { now, timeZone }).ok) continue;
    try {
      validateScheduledCommand(line.command.slice(k));
      return `quote the whole time: km at '${phrase}' ${line.command.slice(k).join(' ')}`;
    } catch {
      // not this split
    }
  }
  return undefined;
}

function validateCommand(line: AtLine, now: number, timeZone: string): ScheduledCommand {
  try {
    return validateScheduledCommand(line.command);
  } catch (e) {
    const hint = e instanceof KmError && e.code === 'usage' ? quoteHint(line, now, timeZone) : undefined;
    if (hint !== undefined && e instanceof KmError) throw new KmError('usage', e.message, { hint });
    throw e;
  }
}

/** Resolves and validates the profile of a scheduled create; returns its name. */
function checkProfile(cmd: ScheduledCommand, ctx: CommandContext): string {
  const substrate = cmd.options.docker === true ? 'docker' : cmd.options.substrate;
  const override = typeof substrate === 'string' ? { substrateOverride: substrate as Substrate } : {};
  const ref = cmd.profile as string;
  const r = resolveProfile(ref, profileResolveOptions(ctx, override));
  if (!r.ok) {
    for (const d of [...r.errors, ...r.warnings]) ctx.io.stderr.write(formatDiagnostic(d) + '\n');
    const n = r.errors.length;
    throw new KmError('profile_invalid', `${ref} is invalid (${n} error${n === 1 ? '' : 's'})`, { hint: `fix the lines above; check with km validate ${ref}` });
  }
  assertCreatable(r.resolved);
  return r.resolved.name;
}

function checkPromptFiles(files: readonly string[], cwd: string): void {
  for (const f of files) {
    const path = resolve(cwd, f);
    let ok = false;
    try {
      ok = statSync(path).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new KmError('usage', `--prompt-file ${f}: no such file`, { hint: 'give the path of a readable file' });
  }
}

async function warnAboutTarget(sandbox: SandboxRef | undefined, deps: AtDeps, ctx: CommandContext): Promise<void> {
  if (sandbox === undefined) return;
  if ((await deps.lookupSandbox(sandbox, ctx)) !== 'missing') return;
  const text =
    sandbox.kind === 'alias'
      ? `no sandbox is called "${sandbox.value}" now; it will be looked up when the schedule fires`
      : sandbox.kind === 'id'
        ? `no sandbox ${sandbox.value} exists now; saving this schedule would be refused`
        : `#${sandbox.value} is not a current sandbox number; saving this schedule would be refused`;
  ctx.io.stderr.write(`km: warning: ${text}\n`);
}

export function createAtCommand(deps: AtDeps = { lookupSandbox: storeLookup }): CommandModule {
  return {
    async run(ctx) {
      const line = splitAtLine(ctx.raw);
      const { timeZone } = await resolveScheduleTimeZone({ flag: line.tz, env: ctx.env, cwd: ctx.cwd });
      const now = line.now !== undefined ? parseNow(line.now, timeZone) : ctx.clock.now();
      const schedule = parseWhen(line, now, timeZone);
      const cmd = validateCommand(line, now, timeZone);
      checkPromptFiles(cmd.promptFiles, ctx.cwd);
      const profileName = cmd.name === 'create' ? checkProfile(cmd, ctx) : '';
      const target = cmd.name === 'create' ? (cmd.alias ?? (profileName || scheduleTarget(cmd))) : scheduleTarget(cmd);
      const nameFor = (t: string): string => {
        const n = line.name !== undefined ? customScheduleName(line.name, new Set()) : scheduleName(cmd.name, t, schedule.input, new Set());
        if (n === undefined) throw new KmError('usage', `--name "${line.name}" has no usable characters`, { hint: 'use letters, digits, ".", "_" and "-"' });
        return n;
      };
      const name = nameFor(target);
      if (!line.dryRun) {
        if (line.now !== undefined) throw new KmError('usage', '--now only applies to --dry-run', { hint: 'a saved schedule counts from when kmd saves it; drop --now' });
        const saved = await saveSchedule(ctx, { line, schedule, cmd, timeZone, target, nameFor });
        if (ctx.global.json) writeJson(ctx.io, saved);
        else ctx.io.stdout.write(scheduledLine(saved) + '\n');
        return 0;
      }
      await warnAboutTarget(cmd.sandbox, deps, ctx);
      const report = dryRunJson(schedule, now, cmd.argv, name);
      if (ctx.global.json) writeJson(ctx.io, report);
      else ctx.io.stdout.write(renderDryRun(report));
      return 0;
    },
  };
}

export const atCommand = createAtCommand();
