/**
 * The command table's types. Help, completion and parsing are all generated from these
 * specs, so every flag in `--help` exists and vice versa.
 */
import type { Clock } from '../core/clock.ts';

export interface OptionSpec {
  /** Long name without dashes, e.g. `alias`. */
  name: string;
  short?: string;
  type: 'boolean' | 'string';
  /** Repeatable: values collect into an array. */
  multiple?: boolean;
  /** Placeholder in help, e.g. `D` or `USD`. */
  valueName?: string;
  description: string;
  choices?: readonly string[];
}

export interface ArgSpec {
  name: string;
  required?: boolean;
  variadic?: boolean;
  /** What completion offers: sandbox references, profile names, files. */
  complete?: 'sandbox' | 'profile' | 'file';
}

export interface CommandIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface GlobalFlags {
  json: boolean;
  debug: boolean;
  color: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  /** The command path as typed in canonical form, e.g. ['profile', 'show']. */
  command: readonly string[];
  args: string[];
  opts: OptionValues;
  /** Arguments after `--` (only for commands with `passthrough`). */
  rest: string[];
  /** The raw argv after the command path (for commands with `rawArgs`). */
  raw: string[];
  global: GlobalFlags;
  io: CommandIO;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
}

/** A string option's value, or undefined when absent (or given as a flag). */
export const optStr = (ctx: Pick<CommandContext, 'opts'>, name: string): string | undefined => (typeof ctx.opts[name] === 'string' ? (ctx.opts[name] as string) : undefined);

/** A repeatable option's values: the parser gives a string for one, an array for several. */
export const optList = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);

export interface CommandModule {
  /** Returns the exit code (default 0). Throw KmError for failures. */
  run(ctx: CommandContext): Promise<number | void>;
}

export interface CommandSpec {
  /** e.g. ['profile', 'show']; a top-level command has one element. */
  path: readonly string[];
  /** Other names for the last path element, e.g. `kill` for `destroy`. */
  aliases?: readonly string[];
  summary: string;
  /** Longer description shown by `--help`. */
  description?: string;
  args?: readonly ArgSpec[];
  options?: readonly OptionSpec[];
  /** The command prints data and accepts `--json`. */
  json?: boolean;
  /** Accepts `-- args…` collected into ctx.rest. */
  passthrough?: boolean;
  /** The command parses its own arguments from ctx.raw (global flags still apply). */
  rawArgs?: boolean;
  examples?: readonly string[];
  /** Hidden from help listings (still runnable). */
  hidden?: boolean;
  load: () => Promise<CommandModule>;
}

/** A group such as `km profile` that only has subcommands. */
export interface GroupSpec {
  path: readonly string[];
  aliases?: readonly string[];
  summary: string;
}
