/** Rendering helpers shared by commands: colour policy, JSON, error lines. */
import { isKmError, toErrorBody } from '../core/errors.ts';
import type { CommandIO, GlobalFlags } from './spec.ts';

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const identity = (s: string) => s;

export function colors(enabled: boolean): Colors {
  if (!enabled) return { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity };
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

/** Colour only on a TTY, never with NO_COLOR or --no-color (SPEC §0.3). */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, noColorFlag: boolean): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

export function writeJson(io: CommandIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The one place CLI errors become text (or JSON with --json). */
export function renderError(io: CommandIO, e: unknown, global: GlobalFlags): void {
  const body = toErrorBody(e);
  if (global.json) {
    io.stderr.write(JSON.stringify({ error: body }) + '\n');
  } else {
    const c = colors(global.color && io.stderr.isTTY === true);
    const msg = isKmError(e) || body.code !== 'internal' ? body.message : `this is a bug: ${body.message}`;
    io.stderr.write(`${c.red('km: error:')} ${msg}\n`);
    if (body.hint) io.stderr.write(`  hint: ${body.hint}\n`);
  }
  if (global.debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  else if (!isKmError(e) && !global.json) io.stderr.write('  (rerun with --debug for the stack trace)\n');
}
