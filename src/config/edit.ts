/**
 * Editing a config file for `km configure`: targeted key changes on the YAML document (so
 * comments and unrelated keys survive), validation of the result in context, then an
 * atomic replace (temp file in the same directory + rename).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { KmError } from '../core/errors.ts';
import { loadYaml } from '../core/yaml-doc.ts';
import { fsReader, loadOperatorConfig, type ConfigReader, type LoadedConfig } from './load.ts';
import { formatConfigDiagnostic } from './layers.ts';
import { RESERVED_ENV } from './keys.ts';

export interface ConfigEdit {
  path: string[];
  /** `undefined` removes the key. */
  value: unknown;
}

/** The file's text with the edits applied; comments and other keys are kept. */
export function editConfigText(file: string, text: string, edits: readonly ConfigEdit[]): string {
  if (text.trim() !== '' && !text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) {
    const check = loadYaml(file, new TextEncoder().encode(text), { requireMapping: false });
    if (!check.ok) {
      throw new KmError('config_invalid', `cannot edit ${file}; it is not valid YAML:\n${check.errors.map((d) => `  ${formatConfigDiagnostic(d)}`).join('\n')}`, {
        hint: `fix ${file} by hand first`,
      });
    }
  }
  const doc = parseDocument(text);
  if (doc.contents !== null && !isMap(doc.contents)) throw new KmError('config_invalid', `cannot edit ${file}: it is not a mapping of keys to values`, { hint: `fix ${file} by hand first` });
  for (const e of edits) {
    if (e.value !== undefined) {
      doc.setIn(e.path, e.value);
      continue;
    }
    doc.deleteIn(e.path);
    // Drop sections the removal left empty.
    for (let n = e.path.length - 1; n > 0; n--) {
      const parent = doc.getIn(e.path.slice(0, n), true);
      if (isMap(parent) && parent.items.length === 0) doc.deleteIn(e.path.slice(0, n));
      else break;
    }
  }
  return doc.toString();
}

/**
 * Validates `text` as the content of `file` in the context of the other config files
 * (environment overrides ignored: they are not part of what is being written).
 */
export async function validateConfigFile(file: string, text: string, ctx: { env: NodeJS.ProcessEnv; cwd: string; reader?: ConfigReader }): Promise<LoadedConfig> {
  const reader = ctx.reader ?? fsReader;
  const env: NodeJS.ProcessEnv = {};
  for (const k of [...RESERVED_ENV, 'HOME']) if (ctx.env[k] !== undefined) env[k] = ctx.env[k];
  try {
    return await loadOperatorConfig({ env, cwd: ctx.cwd, reader: async (p) => (p === file ? new TextEncoder().encode(text) : reader(p)) });
  } catch (e) {
    if (e instanceof KmError && e.code === 'config_invalid' && Array.isArray(e.details?.diagnostics)) {
      throw new KmError('config_invalid', `${file} would be invalid; nothing was written:\n${(e.details.diagnostics as string[]).map((l) => `  ${l}`).join('\n')}`, {
        hint: 'correct the value and run km configure again',
        details: e.details,
      });
    }
    throw e;
  }
}

/**
 * Replaces `file` with `text` atomically. The mode is `options.mode` when given, else the
 * existing file's, else 0600 (config files may hold secrets).
 */
export async function writeFileAtomic(file: string, text: string, options: { mode?: number } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let mode = options.mode ?? 0o600;
  if (options.mode === undefined) {
    try {
      mode = (await stat(file)).mode & 0o777;
    } catch {
      // new file
    }
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new KmError('failed', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
