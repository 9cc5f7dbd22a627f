/** argv → command spec + typed values. Pure; errors are KmError('usage'). */
import { KmError } from '../core/errors.ts';
import { suggest } from '../core/diagnostics.ts';
import { GLOBAL_OPTIONS } from './global.ts';
import type { CommandSpec, GroupSpec, OptionSpec, OptionValues } from './spec.ts';

export interface ParsedGlobal {
  json: boolean;
  debug: boolean;
  noColor: boolean;
  help: boolean;
  version: boolean;
}

export interface Resolution {
  /** The command, or undefined when the path names a group (or nothing). */
  spec: CommandSpec | undefined;
  group: GroupSpec | undefined;
  /** Canonical path matched so far. */
  path: string[];
  /** Tokens after the command path. */
  remaining: string[];
  global: ParsedGlobal;
}

export interface Table {
  commands: readonly CommandSpec[];
  groups: readonly GroupSpec[];
}

const names = (p: { path: readonly string[]; aliases?: readonly string[] }): string[] => [
  p.path[p.path.length - 1] as string,
  ...(p.aliases ?? []),
];

function childOf(table: Table, prefix: readonly string[], word: string): { path: string[]; leaf?: CommandSpec; group?: GroupSpec } | undefined {
  const depth = prefix.length + 1;
  const isUnder = (p: readonly string[]) => p.length === depth && prefix.every((w, i) => p[i] === w);
  for (const c of table.commands) if (isUnder(c.path) && names(c).includes(word)) return { path: [...c.path], leaf: c };
  for (const g of table.groups) if (isUnder(g.path) && names(g).includes(word)) return { path: [...g.path], group: g };
  return undefined;
}

export function childNames(table: Table, prefix: readonly string[]): string[] {
  const depth = prefix.length + 1;
  const out: string[] = [];
  for (const p of [...table.commands.filter((c) => !c.hidden), ...table.groups]) {
    if (p.path.length === depth && prefix.every((w, i) => p.path[i] === w)) out.push(p.path[depth - 1] as string);
  }
  return [...new Set(out)].sort();
}

const GLOBAL_FLAG_NAMES = new Set(['--json', '--debug', '--no-color', '--help', '-h', '--version']);

/** Finds the command path and the global flags; leaves the rest for `parseOptions`. */
export function resolveCommand(table: Table, argv: readonly string[]): Resolution {
  const global: ParsedGlobal = { json: false, debug: false, noColor: false, help: false, version: false };
  const path: string[] = [];
  let spec: CommandSpec | undefined;
  let group: GroupSpec | undefined;
  const remaining: string[] = [];
  let i = 0;
  let pathDone = false;
  for (; i < argv.length; i++) {
    const tok = argv[i] as string;
    if (tok === '--') {
      remaining.push(...argv.slice(i));
      break;
    }
    if (GLOBAL_FLAG_NAMES.has(tok)) {
      if (tok === '--json') global.json = true;
      else if (tok === '--debug') global.debug = true;
      else if (tok === '--no-color') global.noColor = true;
      else if (tok === '--version') global.version = true;
      else global.help = true;
      // Commands that parse their own line (km at) see the flag too.
      if (spec?.rawArgs) remaining.push(tok);
      continue;
    }
    // A command that parses its own line may still have subcommands (`km at list`): the
    // first word after it names one when it matches.
    if (spec?.rawArgs && !tok.startsWith('-') && remaining.every((r) => GLOBAL_FLAG_NAMES.has(r))) {
      const sub = childOf(table, path, tok);
      if (sub?.leaf) {
        path.splice(0, path.length, ...sub.path);
        spec = sub.leaf;
        if (!spec.rawArgs) remaining.length = 0;
        continue;
      }
    }
    if (!pathDone && !tok.startsWith('-') && spec === undefined) {
      const next = childOf(table, path, tok);
      if (next) {
        path.splice(0, path.length, ...next.path);
        spec = next.leaf;
        group = next.group;
        if (spec) pathDone = true;
        continue;
      }
      if (path.length === 0 || group) {
        const here = path.length === 0 ? 'km' : `km ${path.join(' ')}`;
        const hint = suggest(tok, childNames(table, path));
        throw new KmError('usage', `unknown command "${tok}" for ${here}`, {
          hint: hint ? `did you mean "${here === 'km' ? '' : path.join(' ') + ' '}${hint}"? see ${here} --help` : `see ${here} --help`,
        });
      }
    }
    pathDone = true;
    remaining.push(tok);
  }
  return { spec, group, path, remaining, global };
}

export interface ParsedOptions {
  args: string[];
  opts: OptionValues;
  rest: string[];
}

/** Parses flags and positionals for one command. Global flags were removed already. */
export function parseOptions(spec: CommandSpec, tokens: readonly string[]): ParsedOptions {
  const options = spec.options ?? [];
  const byLong = new Map<string, OptionSpec>(options.map((o) => [o.name, o]));
  const byShort = new Map<string, OptionSpec>(options.filter((o) => o.short).map((o) => [o.short as string, o]));
  const opts: OptionValues = {};
  const args: string[] = [];
  let rest: string[] = [];
  const cmd = `km ${spec.path.join(' ')}`;

  const set = (o: OptionSpec, value: string | boolean, shown: string): void => {
    if (typeof value === 'string' && o.choices && !o.choices.includes(value)) {
      throw new KmError('usage', `invalid value "${value}" for ${shown}: expected one of ${o.choices.join(', ')}`);
    }
    if (o.multiple) {
      const prev = opts[o.name];
      opts[o.name] = [...(Array.isArray(prev) ? prev : []), String(value)];
    } else if (opts[o.name] !== undefined && o.type === 'string') {
      throw new KmError('usage', `${shown} was given more than once`, { hint: `pass it once; see ${cmd} --help` });
    } else {
      opts[o.name] = value;
    }
  };

  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    if (tok === '--') {
      if (!spec.passthrough) {
        // Everything after -- is positional.
        args.push(...tokens.slice(i + 1));
      } else {
        rest = tokens.slice(i + 1);
      }
      break;
    }
    if (tok.startsWith('--') && tok.length > 2) {
      const eq = tok.indexOf('=');
      const name = eq > 0 ? tok.slice(2, eq) : tok.slice(2);
      const o = byLong.get(name);
      if (!o) {
        const known = [...byLong.keys(), ...GLOBAL_OPTIONS.map((g) => g.name)];
        const s = suggest(name, known);
        throw new KmError('usage', `unknown flag --${name} for ${cmd}`, {
          hint: s ? `did you mean --${s}? see ${cmd} --help` : `see ${cmd} --help`,
        });
      }
      if (o.type === 'boolean') {
        if (eq > 0) {
          const v = tok.slice(eq + 1);
          if (v !== 'true' && v !== 'false') throw new KmError('usage', `--${name} takes no value (got "${v}")`);
          set(o, v === 'true', `--${name}`);
        } else set(o, true, `--${name}`);
      } else {
        let v: string | undefined;
        if (eq > 0) v = tok.slice(eq + 1);
        else {
          v = tokens[i + 1];
          i++;
        }
        if (v === undefined) throw new KmError('usage', `--${name} needs a value${o.valueName ? ` (${o.valueName})` : ''}`, { hint: `see ${cmd} --help` });
        set(o, v, `--${name}`);
      }
      continue;
    }
    if (tok.startsWith('-') && tok.length > 1 && !/^-\d/.test(tok)) {
      const letters = tok.slice(1);
      for (let j = 0; j < letters.length; j++) {
        const o = byShort.get(letters[j] as string);
        if (!o) throw new KmError('usage', `unknown flag -${letters[j]} for ${cmd}`, { hint: `see ${cmd} --help` });
        if (o.type === 'boolean') set(o, true, `-${o.short}`);
        else {
          const attached = letters.slice(j + 1);
          let v: string | undefined = attached !== '' ? attached : tokens[++i];
          if (v === undefined) throw new KmError('usage', `-${o.short} needs a value`, { hint: `see ${cmd} --help` });
          set(o, v, `-${o.short}`);
          break;
        }
      }
      continue;
    }
    args.push(tok);
  }

  const argSpecs = spec.args ?? [];
  const required = argSpecs.filter((a) => a.required).length;
  const variadic = argSpecs.some((a) => a.variadic);
  if (args.length < required) {
    const missing = argSpecs.filter((a) => a.required)[args.length];
    throw new KmError('usage', `${cmd}: missing argument <${missing?.name ?? 'arg'}>`, { hint: `see ${cmd} --help` });
  }
  if (!variadic && args.length > argSpecs.length) {
    throw new KmError('usage', `${cmd}: unexpected argument "${args[argSpecs.length]}"`, { hint: `see ${cmd} --help` });
  }
  return { args, opts, rest };
}
