/**
 * The command a schedule runs (SPEC §11.1), validated now at the level of its form: known
 * command, known flags, valid values, well-formed sandbox references. Pure; whether a
 * reference names an existing sandbox and whether a profile resolves are checked by the caller.
 */
import { tryParseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { ALIAS_RE, SANDBOX_ID_RE } from '../core/ids.ts';
import { parseOptions } from './parse.ts';
import { optList, type CommandSpec, type OptionSpec, type OptionValues } from './spec.ts';

export type ScheduledCommandName = 'create' | 'destroy' | 'stop' | 'pause' | 'resume' | 'extend' | 'budget-add' | 'agent-run';

export interface SandboxRef {
  kind: 'id' | 'alias' | 'number';
  /** Canonical form: lowercase; numbers without `#`. */
  value: string;
}

export interface ScheduledCommand {
  name: ScheduledCommandName;
  /** Canonical argv stored with the schedule, e.g. `['agent', 'run', 'nightly', '--prompt', '…']`. */
  argv: string[];
  /** Sandbox the command acts on (all but create). */
  sandbox?: SandboxRef;
  /** For create: the profile reference as given. */
  profile?: string;
  /** For create: `--alias`. */
  alias?: string;
  /** `--prompt-file` paths, to be read when scheduling. */
  promptFiles: string[];
  /** The parsed flags of the command. */
  options: OptionValues;
}

export const SCHEDULABLE = 'create, destroy (kill), stop, pause, resume, extend, budget-add, agent run';

const str = (name: string, valueName: string, description: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({
  name,
  type: 'string',
  valueName,
  description,
  ...extra,
});
const bool = (name: string, description: string): OptionSpec => ({ name, type: 'boolean', description });
const notLoadable = (): Promise<never> => Promise.reject(new Error('a scheduled command is not run by the CLI table'));
const SB = { name: 'sb', required: true, complete: 'sandbox' as const };

const CREATE_OPTIONS: readonly OptionSpec[] = [
  str('alias', 'A', 'alias'),
  str('ttl', 'D', 'time to live'),
  str('idle', 'D', 'idle timeout'),
  str('substrate', 'S', 'substrate', { choices: ['local', 'docker', 'ec2', 'ecs'] }),
  bool('docker', 'use the docker substrate'),
  bool('on-demand', 'no spot capacity'),
  bool('no-bedrock', 'no Bedrock'),
  str('ai', 'USD', 'AI budget'),
  str('compute', 'USD', 'compute budget'),
  str('prompt', 'TEXT', 'queued prompt', { multiple: true }),
  str('prompt-file', 'F', 'queued prompt file', { multiple: true }),
];

const AGENT_RUN_OPTIONS: readonly OptionSpec[] = [
  str('prompt', 'TEXT', 'prompt'),
  str('prompt-file', 'F', 'prompt file'),
  bool('auto-start', 'resume a paused or stopped sandbox first'),
  bool('no-bedrock', 'no Bedrock'),
  bool('claude', 'Claude Code'),
  bool('codex', 'Codex'),
  bool('goose', 'Goose'),
  str('run-timeout', 'D', 'run timeout'),
];

const spec = (path: string[], args: CommandSpec['args'], options: readonly OptionSpec[] = [], passthrough = false): CommandSpec => ({
  path,
  summary: '',
  args,
  options,
  passthrough,
  load: notLoadable,
});

const SPECS: Record<ScheduledCommandName, CommandSpec> = {
  create: spec(['create'], [{ name: 'profile', required: true, complete: 'profile' }], CREATE_OPTIONS),
  destroy: spec(['destroy'], [SB], [bool('yes', 'confirm'), bool('purge', 'remove history too')]),
  stop: spec(['stop'], [SB]),
  pause: spec(['pause'], [SB]),
  resume: spec(['resume'], [SB]),
  extend: spec(['extend'], [SB, { name: 'dur' }], [str('idle', 'D', 'idle timeout')]),
  'budget-add': spec(['budget-add'], [SB], [str('ai', 'USD', 'AI budget'), str('compute', 'USD', 'compute budget')]),
  'agent-run': spec(['agent', 'run'], [SB], AGENT_RUN_OPTIONS, true),
};

/** Which command the words name, and how many words they took. */
function commandOf(tokens: readonly string[]): { name: ScheduledCommandName; words: number } {
  const [a, b] = [tokens[0], tokens[1]];
  if (a === undefined) throw new KmError('usage', 'nothing to schedule: give a command after the time', { hint: `schedulable: ${SCHEDULABLE}` });
  if (a === 'agent' && b === 'run') return { name: 'agent-run', words: 2 };
  if (a === 'budget' && b === 'add') return { name: 'budget-add', words: 2 };
  if (a === 'kill') return { name: 'destroy', words: 1 };
  if (Object.hasOwn(SPECS, a) && a !== 'agent-run') return { name: a as ScheduledCommandName, words: 1 };
  const shown = (a === 'agent' || a === 'budget') && b !== undefined && !b.startsWith('-') ? `${a} ${b}` : a;
  throw new KmError('usage', `"${shown}" cannot be scheduled; schedulable: ${SCHEDULABLE}`);
}

export function parseSandboxRef(text: string): SandboxRef {
  const t = text.toLowerCase();
  const num = /^#?([1-9]\d{0,8})$/.exec(t);
  if (num) return { kind: 'number', value: num[1] as string };
  if (SANDBOX_ID_RE.test(t)) return { kind: 'id', value: t };
  if (ALIAS_RE.test(t)) return { kind: 'alias', value: t };
  throw new KmError('usage', `"${text}" is not a sandbox reference: give an id (like sb-81f0c3aa), an alias or a number`, { hint: 'see km list' });
}

function checkDuration(flag: string, value: string | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  const r = tryParseDuration(value, { spelled: true, allowZero });
  if (!r.ok) throw new KmError('usage', `${flag}: ${r.message}`);
}

function checkAmount(flag: string, value: string | undefined): void {
  if (value === undefined) return;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
    throw new KmError('usage', `invalid amount "${value}" for ${flag}: use a positive number of US dollars, e.g. 5 or 2.50`);
  }
}

const strOpt = (opts: OptionValues, name: string): string | undefined => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
const listOpt = (opts: OptionValues, name: string): string[] => (Array.isArray(opts[name]) ? (opts[name] as string[]) : []);

function checkPromptFiles(files: readonly string[]): void {
  if (files.includes('-')) {
    throw new KmError('usage', 'a scheduled command cannot read its prompt from stdin (--prompt-file -)', { hint: 'use --prompt TEXT or a file path' });
  }
}

function checkCreate(opts: OptionValues): void {
  const alias = strOpt(opts, 'alias');
  if (alias !== undefined && (!ALIAS_RE.test(alias) || SANDBOX_ID_RE.test(alias))) {
    throw new KmError('usage', `invalid alias "${alias}": use 1-32 lowercase letters, digits and -, starting with a letter, not shaped like an id`);
  }
  checkDuration('--ttl', strOpt(opts, 'ttl'), true);
  checkDuration('--idle', strOpt(opts, 'idle'), true);
  checkAmount('--ai', strOpt(opts, 'ai'));
  checkAmount('--compute', strOpt(opts, 'compute'));
  const substrate = strOpt(opts, 'substrate');
  if (opts.docker === true && substrate !== undefined && substrate !== 'docker') {
    throw new KmError('usage', `flag conflict: --docker and --substrate ${substrate}`, { hint: 'give one of them' });
  }
  checkPromptFiles(listOpt(opts, 'prompt-file'));
}

function checkAgentRun(opts: OptionValues): void {
  const prompt = strOpt(opts, 'prompt');
  const file = strOpt(opts, 'prompt-file');
  if ((prompt === undefined) === (file === undefined)) {
    throw new KmError('usage', prompt === undefined ? 'agent run needs --prompt TEXT or --prompt-file F' : 'give either --prompt or --prompt-file, not both');
  }
  if (file !== undefined) checkPromptFiles([file]);
  if (prompt !== undefined && prompt.trim() === '') throw new KmError('usage', 'the prompt is empty');
  const agents = ['claude', 'codex', 'goose'].filter((a) => opts[a] === true);
  if (agents.length > 1) throw new KmError('usage', `choose one agent, not ${agents.map((a) => `--${a}`).join(' and ')}`);
  checkDuration('--run-timeout', strOpt(opts, 'run-timeout'), false);
}

function checkValues(name: ScheduledCommandName, args: string[], opts: OptionValues): void {
  if (name === 'create') return checkCreate(opts);
  if (name === 'agent-run') return checkAgentRun(opts);
  if (name === 'extend') {
    if (args[1] === undefined && strOpt(opts, 'idle') === undefined) throw new KmError('usage', 'nothing to extend; give a duration and/or --idle');
    checkDuration('extend', args[1], false);
    checkDuration('--idle', strOpt(opts, 'idle'), true);
  }
  if (name === 'budget-add') {
    if (strOpt(opts, 'ai') === undefined && strOpt(opts, 'compute') === undefined) {
      throw new KmError('usage', 'budget-add needs --ai USD and/or --compute USD');
    }
    checkAmount('--ai', strOpt(opts, 'ai'));
    checkAmount('--compute', strOpt(opts, 'compute'));
  }
}

/** Canonical argv: command words, positionals, then flags in the spec's order, then `-- rest`. */
function canonicalArgv(s: CommandSpec, args: string[], opts: OptionValues, rest: string[]): string[] {
  const out = [...s.path, ...args];
  for (const o of s.options ?? []) {
    const v = opts[o.name];
    if (v === true) out.push(`--${o.name}`);
    else if (typeof v === 'string') out.push(`--${o.name}`, v);
    else if (Array.isArray(v)) for (const item of v) out.push(`--${o.name}`, item);
  }
  if (rest.length > 0) out.push('--', ...rest);
  return out;
}

/** Validates the scheduled command's words; throws KmError('usage') (exit 2) when invalid. */
export function validateScheduledCommand(tokens: readonly string[]): ScheduledCommand {
  const { name, words } = commandOf(tokens);
  const s = SPECS[name];
  const parsed = parseOptions(s, tokens.slice(words));
  checkValues(name, parsed.args, parsed.opts);
  const promptFiles = optList(parsed.opts['prompt-file']);
  const base = { name, promptFiles, options: parsed.opts };
  if (name === 'create') {
    const alias = strOpt(parsed.opts, 'alias');
    const argv = canonicalArgv(s, parsed.args, parsed.opts, parsed.rest);
    return alias === undefined ? { ...base, argv, profile: parsed.args[0] as string } : { ...base, argv, profile: parsed.args[0] as string, alias };
  }
  const sandbox = parseSandboxRef(parsed.args[0] as string);
  const args = [sandbox.value, ...parsed.args.slice(1)];
  return { ...base, argv: canonicalArgv(s, args, parsed.opts, parsed.rest), sandbox };
}

/** The `{target}` of a schedule name: the alias (else id or number); for create the alias or profile name. */
export function scheduleTarget(cmd: ScheduledCommand): string {
  if (cmd.name === 'create') {
    if (cmd.alias !== undefined) return cmd.alias;
    const base = (cmd.profile ?? 'profile').split('/').pop() as string;
    return base.replace(/\.ya?ml$/i, '');
  }
  return cmd.sandbox?.value ?? '';
}
