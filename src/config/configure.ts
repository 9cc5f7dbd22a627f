/**
 * `km configure` (SPEC §14.2): turn `--set key=value` flags and/or prompt answers into edits
 * of the user (`$KM_HOME/config.yaml`) or project (`./km-config.yaml`, `KM_CONFIG`) file,
 * validate the result in context and write it atomically.
 */
import { KmError } from '../core/errors.ts';
import { editConfigText, validateConfigFile, writeFileAtomic, type ConfigEdit } from './edit.ts';
import { coerceText, configKeys, findKey, type ConfigKey } from './keys.ts';
import { isObj } from './layers.ts';
import { configFiles, fsReader, type ConfigReader } from './load.ts';
import { OperatorConfigSchema, PROMPTED_KEYS, type OperatorConfig } from './schema.ts';
import { parse as parseYaml } from 'yaml';

/** Keys recorded with their defaults when the operator accepts the defaults. */
const RECORDED_DEFAULTS = ['resource_prefix', 'email_subdomain'];
const MAX_ATTEMPTS = 5;

export interface ConfigureOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  scope: 'user' | 'project';
  /** `key=value` texts; an empty value removes the key. */
  sets: readonly string[];
  /** Ask for PROMPTED_KEYS with this (interactive mode); without it, accept defaults only when `acceptDefaults`. */
  ask?: (question: string) => Promise<string>;
  acceptDefaults: boolean;
  /** Messages for the operator (re-asks after a bad answer). */
  note: (line: string) => void;
  reader?: ConfigReader;
}

export interface ConfigureResult {
  file: string;
  /** Dotted keys whose value in the file changed. */
  changed: string[];
  written: boolean;
}

export function parseSet(keys: readonly ConfigKey[], text: string): ConfigEdit & { dotted: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new KmError('usage', `--set needs key=value, got "${text}"`, { hint: 'e.g. km configure --set max_sandboxes=20' });
  const dotted = text.slice(0, eq).trim();
  const found = findKey(keys, dotted);
  if ('error' in found) throw new KmError('usage', `--set ${dotted}: ${found.error}`, { hint: 'see km configure --help for the keys' });
  const raw = text.slice(eq + 1);
  if (raw.trim() === '') return { dotted, path: found.path, value: undefined };
  const c = coerceText(found.entry ? 'string' : found.key.kind, raw);
  if ('error' in c) throw new KmError('usage', `--set ${dotted}: ${c.error}`);
  return { dotted, path: found.path, value: c.value };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const valueAt = (obj: unknown, path: readonly string[]): unknown => path.reduce<unknown>((cur, seg) => (isObj(cur) ? cur[seg] : undefined), obj);

/** One key's value checked against the schema; the message of its first problem. */
function checkValue(path: readonly string[], value: unknown): string | undefined {
  const probe: Record<string, unknown> = {};
  let cur = probe;
  path.forEach((seg, i) => (i === path.length - 1 ? (cur[seg] = value) : (cur = cur[seg] = {} as Record<string, unknown>)));
  const r = OperatorConfigSchema.safeParse(probe);
  if (r.success) return undefined;
  const issue = r.error.issues.find((i) => path.every((s, n) => i.path[n] === undefined || i.path[n] === s));
  return issue?.message ?? r.error.issues[0]?.message;
}

async function askFor(key: ConfigKey, current: unknown, opts: ConfigureOptions): Promise<unknown> {
  const shown = current === undefined ? '' : Array.isArray(current) ? current.join(',') : String(current);
  const question = `${key.dotted}${key.description ? ` (${key.description})` : ''}${shown === '' ? '' : ` [${shown}]`}: `;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const answer = (await (opts.ask as NonNullable<ConfigureOptions['ask']>)(question)).trim();
    if (answer === '') return current;
    const c = coerceText(key.kind, answer);
    const problem = 'error' in c ? c.error : checkValue(key.path, c.value);
    if (problem === undefined && !('error' in c)) return c.value;
    opts.note(`  ${problem}; try again (empty keeps ${shown === '' ? 'it unset' : shown})`);
  }
  throw new KmError('usage', `no valid value for ${key.dotted} after ${MAX_ATTEMPTS} attempts`);
}

async function effectiveConfig(file: string, text: string, opts: ConfigureOptions): Promise<OperatorConfig> {
  try {
    return (await validateConfigFile(file, text, opts)).config;
  } catch {
    return OperatorConfigSchema.parse({});
  }
}

export async function configure(opts: ConfigureOptions): Promise<ConfigureResult> {
  const keys = configKeys();
  const sets = opts.sets.map((s) => parseSet(keys, s));
  const where = configFiles(opts.env, opts.cwd);
  const file = opts.scope === 'user' ? where.user : where.project;
  const reader = opts.reader ?? fsReader;
  const bytes = await reader(file);
  const before = bytes === undefined ? '' : new TextDecoder().decode(bytes);
  let inFile: unknown = {};
  try {
    inFile = parseYaml(before) ?? {};
  } catch {
    // editConfigText reports the syntax error with its position
  }
  const edits: ConfigEdit[] = [...sets];
  if (opts.ask || opts.acceptDefaults) {
    // What this file would inherit: layers below it only (the user file never sees the project's).
    const below: ConfigReader = async (p) => (opts.scope === 'user' && p === where.project ? undefined : reader(p));
    const effective = await effectiveConfig(file, before, { ...opts, reader: below });
    for (const dotted of PROMPTED_KEYS) {
      if (sets.some((s) => s.dotted === dotted)) continue;
      const key = keys.find((k) => k.dotted === dotted) as ConfigKey;
      const fileValue = valueAt(inFile, key.path);
      const effectiveValue = valueAt(effective, key.path);
      const value = opts.ask ? await askFor(key, fileValue ?? effectiveValue, opts) : (fileValue ?? effectiveValue);
      if (value === undefined || same(value, fileValue)) continue;
      // Accepting an inherited value writes nothing, except for the keys recorded explicitly.
      if (fileValue === undefined && same(value, effectiveValue) && !RECORDED_DEFAULTS.includes(dotted)) continue;
      edits.push({ path: key.path, value });
    }
  }
  const after = editConfigText(file, before, edits);
  await validateConfigFile(file, after, { ...opts, reader });
  const parsedAfter: unknown = parseYaml(after) ?? {};
  const changed = edits
    .filter((e) => !same(valueAt(inFile, e.path), valueAt(parsedAfter, e.path)))
    .map((e) => e.path.join('.'))
    .filter((d, i, all) => all.indexOf(d) === i);
  if (after === before && bytes !== undefined) return { file, changed: [], written: false };
  await writeFileAtomic(file, after);
  await noteOverrides(edits, keys, where, opts, reader);
  return { file, changed, written: true };
}

/** Tells the operator when a value just written is shadowed by a variable or the project file. */
async function noteOverrides(edits: readonly ConfigEdit[], keys: readonly ConfigKey[], where: ReturnType<typeof configFiles>, opts: ConfigureOptions, reader: ConfigReader): Promise<void> {
  let project: unknown = {};
  if (opts.scope === 'user' && where.project !== where.user) {
    try {
      const bytes = await reader(where.project);
      project = bytes === undefined ? {} : (parseYaml(new TextDecoder().decode(bytes)) ?? {});
    } catch {
      // an unreadable project file is reported by the next km command that loads it
    }
  }
  for (const e of edits) {
    const dotted = e.path.join('.');
    const key = keys.find((k) => k.dotted === dotted || (k.kind === 'map' && dotted.startsWith(`${k.dotted}.`)));
    if (key && opts.env[key.env] !== undefined && opts.env[key.env] !== '') opts.note(`note: ${key.env} in the environment overrides ${dotted}`);
    else if (valueAt(project, e.path) !== undefined) opts.note(`note: ${where.project} sets ${dotted} too, and wins over the user file`);
  }
}
