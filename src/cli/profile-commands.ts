/**
 * `km validate`, `km profile list | show | schema` (SPEC §1.6–1.7). Each parses, calls
 * the profile domain, renders.
 */
import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadOperatorConfig, profileSearchPaths, resolveStateDir } from '../config/index.ts';
import { KmError } from '../core/errors.ts';
import { loadYaml } from '../core/yaml-doc.ts';
import {
  builtinProfiles,
  createFsReader,
  displayPath,
  profileJsonSchema,
  resolveProfile,
  type ResolveOptions,
  type ResolveResult,
  type Substrate,
} from '../profile/index.ts';
import { writeJson } from './output.ts';
import {
  diagnosticLine,
  profileListJson,
  profileListText,
  profileYaml,
  showHeader,
  statusLine,
  validateJson,
  type ListedProfile,
  type ValidateOutcome,
} from './profile-render.ts';
import type { CommandContext, CommandModule } from './spec.ts';

/**
 * Resolution options without reading operator config: search paths ./profiles then
 * $KM_HOME/profiles (the config defaults), local substrate.
 */
export function profileResolveOptions(ctx: Pick<CommandContext, 'cwd' | 'env'>, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  const stateDir = resolveStateDir(ctx.env);
  return {
    cwd: ctx.cwd,
    searchPaths: [join(ctx.cwd, 'profiles'), join(stateDir, 'profiles')],
    reader: createFsReader(),
    home: ctx.env.HOME && ctx.env.HOME !== '' ? ctx.env.HOME : homedir(),
    ...extra,
  };
}

/**
 * Resolution options from the operator config (SPEC §14.1): `profile_search_paths`,
 * `default_substrate` and `region`. Throws config_invalid when the config is invalid.
 */
export async function operatorProfileOptions(ctx: Pick<CommandContext, 'cwd' | 'env'>, extra: Partial<ResolveOptions> = {}): Promise<ResolveOptions> {
  const { config, stateDir } = await loadOperatorConfig({ env: ctx.env, cwd: ctx.cwd });
  return profileResolveOptions(ctx, {
    searchPaths: profileSearchPaths(config, { stateDir, cwd: ctx.cwd, env: ctx.env }),
    substrate: config.default_substrate,
    ...(config.region !== undefined ? { region: config.region } : {}),
    ...extra,
  });
}

function outcomeOf(ref: string, r: ResolveResult, strict: boolean): ValidateOutcome {
  if (!r.ok) return { file: ref, status: 'invalid', errors: r.errors, warnings: r.warnings };
  if (r.resolved.abstract) return { file: ref, status: 'skipped', errors: [], warnings: r.warnings };
  if (strict && r.warnings.length > 0) return { file: ref, status: 'invalid', errors: [], warnings: r.warnings, strictFailure: true };
  return { file: ref, status: 'valid', errors: [], warnings: r.warnings };
}

export const validateCommand: CommandModule = {
  async run(ctx) {
    const substrate = ctx.opts.substrate as Substrate | undefined;
    const strict = ctx.opts.strict === true;
    const opts = await operatorProfileOptions(ctx, substrate ? { substrateOverride: substrate } : {});
    const outcomes: ValidateOutcome[] = [];
    for (const ref of ctx.args) {
      const o = outcomeOf(ref, resolveProfile(ref, opts), strict);
      outcomes.push(o);
      if (ctx.global.json) continue;
      for (const d of [...o.errors, ...o.warnings]) ctx.io.stderr.write(diagnosticLine(d) + '\n');
      ctx.io.stdout.write(statusLine(o) + '\n');
    }
    if (ctx.global.json) writeJson(ctx.io, validateJson(outcomes));
    return outcomes.some((o) => o.status === 'invalid') ? 1 : 0;
  },
};

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

function describeFile(path: string, shown: string): ListedProfile | undefined {
  let bytes: Uint8Array | undefined;
  try {
    bytes = createFsReader().read(path);
  } catch {
    return undefined;
  }
  if (!bytes) return undefined;
  const loaded = loadYaml(shown, bytes, { knownTags: ['!replace'] });
  const fallback = path.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  if (!loaded.ok) return { name: fallback, source: 'file', path: shown, abstract: false, description: 'unreadable: run km validate' };
  const meta = (loaded.source.value as Record<string, unknown>).metadata as Record<string, unknown> | undefined;
  const labels = (meta?.labels ?? {}) as Record<string, unknown>;
  return {
    name: typeof meta?.name === 'string' ? meta.name : fallback,
    source: 'file',
    path: shown,
    abstract: meta?.abstract === true,
    description: typeof labels.description === 'string' ? labels.description : '',
  };
}

export const profileListCommand: CommandModule = {
  async run(ctx) {
    const opts = await operatorProfileOptions(ctx);
    const rows: ListedProfile[] = builtinProfiles().map((b) => ({ name: b.name, source: 'builtin', path: b.path, abstract: false, description: b.description }));
    const seen = new Set(rows.map((r) => r.path));
    for (const dir of opts.searchPaths) {
      for (const file of listDir(dir)) {
        if (seen.has(file)) continue;
        seen.add(file);
        const row = describeFile(file, displayPath(file, ctx.cwd, opts.home));
        if (row) rows.push(row);
      }
    }
    if (ctx.global.json) return writeJson(ctx.io, profileListJson(rows));
    ctx.io.stdout.write(profileListText(rows));
  },
};

function failInvalid(ctx: CommandContext, ref: string, r: Extract<ResolveResult, { ok: false }>): never {
  const n = r.errors.length;
  const message = `${ref} is invalid (${n} error${n === 1 ? '' : 's'})`;
  if (ctx.global.json) {
    const details = validateJson([{ file: ref, status: 'invalid', errors: r.errors, warnings: r.warnings }]) as unknown[];
    throw new KmError('profile_invalid', message, { hint: `check with km validate ${ref}`, details: { validation: details[0] } });
  }
  for (const d of [...r.errors, ...r.warnings]) ctx.io.stderr.write(diagnosticLine(d) + '\n');
  throw new KmError('profile_invalid', message, { hint: `fix the lines above; check with km validate ${ref}` });
}

export const profileShowCommand: CommandModule = {
  async run(ctx) {
    const ref = ctx.args[0] as string;
    const resolvedView = ctx.opts.resolved === true;
    const opts = await operatorProfileOptions(ctx);
    const r = resolveProfile(ref, opts);
    if (!r.ok) failInvalid(ctx, ref, r);
    const shown = r.resolved.sources.map((s) => ({ ...s, file: displayPath(s.file, ctx.cwd, opts.home) }));
    let doc: unknown;
    let text: string | undefined;
    if (resolvedView) {
      doc = r.resolved.profile;
    } else {
      const bytes = opts.reader.read(r.resolved.file as string) as Uint8Array;
      const loaded = loadYaml(ref, bytes, { knownTags: ['!replace'] });
      if (!loaded.ok) throw new KmError('internal', `${ref} changed while it was read`);
      doc = loaded.source.value;
      text = loaded.source.text;
    }
    if (ctx.global.json) {
      return writeJson(ctx.io, { name: r.resolved.name, file: shown[shown.length - 1]?.file ?? ref, resolved: resolvedView, sources: shown, profile: doc });
    }
    ctx.io.stdout.write(showHeader(ref, resolvedView, shown));
    const body = text ?? profileYaml(doc);
    ctx.io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
  },
};

export const profileSchemaCommand: CommandModule = {
  async run(ctx) {
    writeJson(ctx.io, profileJsonSchema());
  },
};
