/**
 * Splits a `km at` line (SPEC §11.1): `km at`'s own flags (`--cron --tz --name --dry-run
 * --now`, plus the global ones) are recognised anywhere before a `--`; the first other word
 * is the time phrase (unless `--cron` is given); everything from the next word on is the
 * scheduled command, including its flags. Pure.
 */
import { KmError } from '../core/errors.ts';

export interface AtLine {
  phrase?: string;
  cron?: string;
  tz?: string;
  name?: string;
  now?: string;
  dryRun: boolean;
  /** The scheduled command's words, flags and `-- args`, in order. */
  command: string[];
}

const VALUE_FLAGS = ['cron', 'tz', 'name', 'now'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
/** Global flags the CLI entry handled already; they still appear in the raw line. */
const GLOBAL = new Set(['--json', '--debug', '--no-color']);

const AT_USAGE = `km at '<when>' <command> [args…] [--tz ZONE] [--name N] [--dry-run] [--now ISO] [--json]`;

export function splitAtLine(raw: readonly string[]): AtLine {
  const line: AtLine = { dryRun: false, command: [] };
  const rest: string[] = [];
  let passthrough: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const tok = raw[i] as string;
    if (tok === '--') {
      passthrough = raw.slice(i);
      break;
    }
    if (GLOBAL.has(tok)) continue;
    const own = ownFlag(tok);
    if (own === 'dry-run') {
      line.dryRun = true;
    } else if (own !== undefined) {
      const eq = tok.indexOf('=');
      const value = eq > 0 ? tok.slice(eq + 1) : raw[++i];
      if (value === undefined) throw new KmError('usage', `--${own} needs a value`, { hint: `usage: ${AT_USAGE}` });
      if (line[own] !== undefined) throw new KmError('usage', `--${own} was given more than once`);
      line[own] = value;
    } else {
      rest.push(tok);
    }
  }
  const first = rest[0];
  if (first !== undefined && first.startsWith('-') && first.length > 1) {
    throw new KmError('usage', `unknown flag ${first.split('=')[0]} for km at`, {
      hint: `flags of the scheduled command go after it; usage: ${AT_USAGE}`,
    });
  }
  if (line.cron === undefined) {
    if (first === undefined) throw new KmError('usage', 'km at needs a time', { hint: `usage: ${AT_USAGE}, or km at --cron '<expr>' <command>` });
    line.phrase = first;
    rest.shift();
  }
  const next = rest[0];
  if (next !== undefined && next.startsWith('-') && next.length > 1) {
    throw new KmError('usage', `unknown flag ${next.split('=')[0]} for km at`, {
      hint: `flags of the scheduled command go after it; usage: ${AT_USAGE}`,
    });
  }
  line.command = [...rest, ...passthrough];
  if (rest.length === 0) {
    throw new KmError('usage', 'nothing to schedule: give a command after the time', {
      hint: 'schedulable: create, destroy (kill), stop, pause, resume, extend, budget-add, agent run',
    });
  }
  return line;
}

function ownFlag(tok: string): ValueFlag | 'dry-run' | undefined {
  if (!tok.startsWith('--')) return undefined;
  const name = tok.slice(2).split('=')[0] as string;
  if (name === 'dry-run') {
    if (tok.includes('=')) throw new KmError('usage', `--dry-run takes no value (got "${tok}")`);
    return 'dry-run';
  }
  return (VALUE_FLAGS as readonly string[]).includes(name) ? (name as ValueFlag) : undefined;
}
