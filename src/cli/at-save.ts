/**
 * Saving a `km at` schedule through kmd (SPEC §11.1, §11.4): sandbox references are checked
 * against kmd now (IDs must exist, numbers become IDs, an alias that matches nothing only
 * warns: it is looked up when the schedule fires), a create's profile is resolved and stored
 * with the schedule, prompt files are read now, and kmd saves the definition.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.ts';
import { isKmError, KmError } from '../core/errors.ts';
import { MAX_PROMPT_BYTES } from '../agent/index.ts';
import { overrideProfile, overridesFromFlags, parseUsd, type CreateOverrides, type SandboxStatusJson } from '../sandbox/index.ts';
import type { ScheduleDefinition, ScheduleJson, ScheduledCommand as StoredCommand } from '../scheduler/index.ts';
import type { Schedule } from '../schedule-grammar/index.ts';
import type { AtLine } from './at-args.ts';
import type { ScheduledCommand } from './at-scheduled.ts';
import { kmd } from './sandbox-client.ts';
import { createConfigOf, resolveForCreate } from './create-context.ts';
import { sandboxContext } from './sandbox-context.ts';
import type { CommandContext } from './spec.ts';

export interface SaveInput {
  line: AtLine;
  schedule: Schedule;
  cmd: ScheduledCommand;
  timeZone: string;
  /** The name's `{target}` as computed from the line (numbers still as typed). */
  target: string;
  nameFor: (target: string) => string;
}

const optStr = (cmd: ScheduledCommand, name: string): string | undefined =>
  typeof cmd.options[name] === 'string' ? (cmd.options[name] as string) : undefined;

interface Client {
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

/** The sandbox reference to store: IDs and aliases as given, numbers as the ID they name now. */
async function checkRef(ctx: CommandContext, client: Client, cmd: ScheduledCommand): Promise<string> {
  const ref = cmd.sandbox;
  if (ref === undefined) throw new KmError('internal', `${cmd.name} has no sandbox reference`);
  let found: SandboxStatusJson | undefined;
  try {
    found = await client.request<SandboxStatusJson>('GET', `/v1/sandboxes/${encodeURIComponent(ref.kind === 'number' ? `#${ref.value}` : ref.value)}`);
  } catch (e) {
    if (!(isKmError(e) && e.code === 'not_found' && ref.kind === 'alias')) throw e;
  }
  if (found && found.status === 'destroyed') {
    if (ref.kind !== 'alias') throw new KmError('not_found', `${found.id} was destroyed`, { hint: 'km list shows current sandboxes' });
    found = undefined;
  }
  if (!found) {
    ctx.io.stderr.write(`km: warning: no sandbox is called "${ref.value}" now; it will be looked up when the schedule fires\n`);
    return ref.value;
  }
  return ref.kind === 'number' ? found.id : ref.value;
}

const overridesOf = (cmd: ScheduledCommand): CreateOverrides => overridesFromFlags(cmd.options);

async function createCommand(ctx: CommandContext, cmd: ScheduledCommand): Promise<StoredCommand> {
  if (cmd.options.prompt !== undefined || cmd.promptFiles.length > 0) {
    throw new KmError('not_available', 'queued prompts (--prompt, --prompt-file) on a scheduled create are not available in this version', {
      hint: "schedule the create, then an agent run: km at '<when>' agent run <alias> --prompt …",
    });
  }
  const c = await sandboxContext(ctx);
  const resolved = resolveForCreate(ctx, c, cmd.profile as string);
  if (resolved.abstract) throw new KmError('profile_invalid', 'cannot create from an abstract fragment; use a profile that extends it');
  const overrides = overridesOf(cmd);
  overrideProfile(resolved.profile, overrides);
  return {
    name: 'create',
    profile: resolved.profile as unknown as Record<string, unknown>,
    profileName: resolved.name,
    alias: cmd.alias ?? null,
    overrides: overrides as Record<string, unknown>,
    config: createConfigOf(c, ctx) as unknown as Record<string, unknown>,
    timeZone: c.timeZone,
  };
}

/** `--prompt-file F` becomes `--prompt TEXT`: the file is read when scheduling. */
function inlinePromptFiles(argv: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return [...out, ...argv.slice(i)];
    if (argv[i] === '--prompt-file' && argv[i + 1] !== undefined) {
      out.push('--prompt', readFileSync(resolve(cwd, argv[i + 1] as string), 'utf8'));
      i++;
    } else out.push(argv[i] as string);
  }
  return out;
}

/** Arguments after the first bare `--` that is not the value of a flag. */
function passthrough(argv: readonly string[]): string[] {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return argv.slice(i + 1);
    if (argv[i] === '--prompt' || argv[i] === '--prompt-file' || argv[i] === '--run-timeout') i++;
  }
  return [];
}

function agentRun(ctx: CommandContext, cmd: ScheduledCommand, sandbox: string, argv: readonly string[]): StoredCommand {
  const file = optStr(cmd, 'prompt-file');
  const prompt = file === undefined ? (optStr(cmd, 'prompt') as string) : readFileSync(resolve(ctx.cwd, file), 'utf8');
  if (prompt.trim() === '') throw new KmError('usage', 'the prompt is empty');
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) throw new KmError('usage', `the prompt is ${bytes} bytes; the limit is 1 MiB (${MAX_PROMPT_BYTES} bytes)`);
  const agent = (['claude', 'codex', 'goose'] as const).find((a) => cmd.options[a] === true) ?? null;
  const noBedrock = cmd.options['no-bedrock'] === true;
  if (agent === 'codex' && noBedrock) throw new KmError('usage', '--no-bedrock does not apply to codex');
  const timeout = optStr(cmd, 'run-timeout');
  return {
    name: 'agent-run',
    sandbox,
    prompt,
    agent,
    autoStart: cmd.options['auto-start'] === true,
    noBedrock,
    runTimeoutS: timeout === undefined ? null : parseDuration(timeout, { spelled: true }),
    args: passthrough(argv),
  };
}

function sandboxCommand(ctx: CommandContext, cmd: ScheduledCommand, sandbox: string, argv: string[]): StoredCommand {
  switch (cmd.name) {
    case 'stop':
    case 'pause':
    case 'resume':
      return { name: cmd.name, sandbox };
    case 'destroy':
      return { name: 'destroy', sandbox, purge: cmd.options.purge === true };
    case 'extend': {
      const by = argv[2] !== undefined && !argv[2].startsWith('--') ? argv[2] : undefined;
      const idle = optStr(cmd, 'idle');
      return { name: 'extend', sandbox, byS: by === undefined ? null : parseDuration(by, { spelled: true }), byText: by ?? null, idleS: idle === undefined ? null : parseDuration(idle, { spelled: true, allowZero: true }) };
    }
    case 'budget-add': {
      const [ai, compute] = [optStr(cmd, 'ai'), optStr(cmd, 'compute')];
      return { name: 'budget-add', sandbox, aiUsd: ai === undefined ? null : parseUsd('ai', ai), computeUsd: compute === undefined ? null : parseUsd('compute', compute) };
    }
    case 'agent-run':
      return agentRun(ctx, cmd, sandbox, argv);
    case 'create':
      throw new KmError('internal', 'create has no sandbox reference');
  }
}

export async function saveSchedule(ctx: CommandContext, input: SaveInput): Promise<ScheduleJson> {
  const { cmd } = input;
  const k = await kmd(ctx, (await sandboxContext(ctx)).stateDir);
  let command: StoredCommand;
  let argv = [...cmd.argv];
  let target = input.target;
  if (cmd.name === 'create') {
    command = await createCommand(ctx, cmd);
  } else {
    const sandbox = await checkRef(ctx, k.client, cmd);
    const at = cmd.name === 'agent-run' ? 2 : 1;
    argv[at] = sandbox;
    target = sandbox;
    command = sandboxCommand(ctx, cmd, sandbox, argv);
    if (command.name === 'agent-run') argv = inlinePromptFiles(argv, ctx.cwd);
  }
  const definition: ScheduleDefinition = {
    name: input.nameFor(target),
    input: input.schedule.input,
    cron: input.line.cron !== undefined,
    timezone: input.timeZone,
    argv,
    target,
    command,
  };
  return k.client.request<ScheduleJson>('POST', '/v1/schedules', definition);
}
