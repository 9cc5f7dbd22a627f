/**
 * Loading the operator configuration (SPEC §14.1). Layers, lowest precedence first:
 * defaults, `$KM_HOME/config.yaml`, `./km-config.yaml` (or the file `KM_CONFIG` names),
 * `KM_*` variables. The merged result is validated once; every problem is reported at the
 * file position or variable that supplied the value, all together in one `config_invalid`.
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { suggest, type Diagnostic, type PathSegment } from '../core/diagnostics.ts';
import { KmError } from '../core/errors.ts';
import { configKeys, type ConfigKey } from './keys.ts';
import { deepMerge, depthIn, envLayer, fileLayer, formatConfigDiagnostic, type Layer } from './layers.ts';
import { configFiles } from './paths.ts';

export { configFiles } from './paths.ts';
import { OperatorConfigSchema, type OperatorConfig } from './schema.ts';

/** Reads a file; undefined when it does not exist. */
export type ConfigReader = (path: string) => Promise<Uint8Array | undefined>;

export interface LoadConfigOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  reader?: ConfigReader;
}

export interface LoadedConfig {
  config: OperatorConfig;
  /** Files that exist and were read, lowest precedence first. */
  files: string[];
  stateDir: string;
  warnings: Diagnostic[];
}

export const fsReader: ConfigReader = async (path) => {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KmError('config_invalid', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
};

export async function loadOperatorConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const reader = options.reader ?? fsReader;
  const where = configFiles(options.env, options.cwd);
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const layers: Layer[] = [];
  const files: string[] = [];
  const paths = where.project === where.user ? [where.user] : [where.user, where.project];
  for (const file of paths) {
    const bytes = await reader(file);
    if (bytes === undefined) {
      if (file === where.project && where.projectFromEnv) {
        errors.push({ file, line: 0, col: 0, path: '', message: 'KM_CONFIG names this file, but it does not exist', severity: 'error' });
      }
      continue;
    }
    files.push(file);
    const r = fileLayer(file, bytes);
    if (!r.ok) errors.push(...r.errors);
    else (layers.push(r.layer), warnings.push(...r.warnings));
  }
  const keys = configKeys();
  const env = envLayer(options.env, keys);
  errors.push(...env.errors);
  warnings.push(...env.warnings);
  layers.push(env.layer);

  const parsed = OperatorConfigSchema.safeParse(deepMerge(...layers.map((l) => l.value)));
  if (!parsed.success) errors.push(...parsed.error.issues.flatMap((i) => issueDiagnostics(i, layers, keys)));
  if (errors.length > 0 || !parsed.success) throw configError(errors);
  return { config: parsed.data, files, stateDir: where.stateDir, warnings };
}

export function configError(errors: readonly Diagnostic[]): KmError {
  const lines = errors.map((d) => `  ${formatConfigDiagnostic(d)}`);
  return new KmError('config_invalid', `operator configuration is invalid:\n${lines.join('\n')}`, {
    hint: 'fix the values above (km configure --set key=value rewrites a key)',
    details: { diagnostics: errors.map(formatConfigDiagnostic) },
  });
}

/** The layer that supplied the value at `path` (deepest match; later layers win ties). */
function originLayer(layers: readonly Layer[], path: readonly PathSegment[]): Layer {
  let best = layers[layers.length - 1] as Layer;
  let bestDepth = -1;
  for (const l of layers) {
    const d = depthIn(l.value, path);
    if (d >= bestDepth) [best, bestDepth] = [l, d];
  }
  return best;
}

/** Direct child names of `path` in the schema (for did-you-mean). */
const childNames = (keys: readonly ConfigKey[], path: readonly PathSegment[]): string[] => [
  ...new Set(keys.filter((k) => path.every((s, i) => k.path[i] === s) && k.path.length > path.length).map((k) => k.path[path.length] as string)),
];

function issueDiagnostics(issue: z.core.$ZodIssue, layers: readonly Layer[], keys: readonly ConfigKey[]): Diagnostic[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const full = [...path, k];
      const near = suggest(k, childNames(keys, path));
      return originLayer(layers, full).where(full, true, `unknown key "${k}"${near ? `; did you mean "${near}"?` : ''}`);
    });
  }
  let message = issue.message;
  if (issue.code === 'invalid_key') message = `invalid name: ${issue.issues[0]?.message ?? issue.message}`;
  else if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) message = `missing required key "${String(path[path.length - 1])}"`;
  const layer = originLayer(layers, path);
  return [layer.where(path, issue.code === 'invalid_key', message)];
}
