/**
 * `km policy explain <profile|sb> <host|url> [--method M] [--json]` (SPEC §3.7): resolve the
 * profile (or a sandbox's stored resolved profile and gateway settings), compile its policy with the operator's metering hosts and overrides, and show
 * the decision for one destination without sending anything. Exit 0 for either decision.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadOperatorConfig, profileSearchPaths, sqliteStorePath } from '../config/index.ts';
import { formatDiagnostic } from '../core/diagnostics.ts';
import { isKmError, KmError } from '../core/errors.ts';
import { compilePolicy, explain, explainJson, parseExplainTarget, renderExplain, type CompiledPolicy } from '../policy/index.ts';
import { builtinProfiles, createFsReader, resolveProfile, type Profile } from '../profile/index.ts';
import { readGatewaySettings, resolveSandboxRef, sandboxPaths } from '../sandbox/index.ts';
import { openSqliteStore, type SandboxRecord } from '../store/index.ts';
import { colors, writeJson } from './output.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const METHOD = /^[A-Za-z]{1,16}$/;

type Config = Awaited<ReturnType<typeof loadOperatorConfig>>;

/** True when `ref` is written as a path (has a slash or a YAML extension) and the file exists. */
const isExistingFile = (ref: string, cwd: string): boolean =>
  !ref.startsWith('builtin:') && (ref.includes('/') || /\.ya?ml$/.test(ref)) && existsSync(resolve(cwd, ref));

/**
 * A sandbox named by `ref` (id, alias or number, destroyed ones included), or undefined when
 * there is no store yet or nothing matches. Opening the store never creates it.
 */
async function sandboxFor(ctx: CommandContext, loaded: Config, ref: string): Promise<SandboxRecord | undefined> {
  const path = sqliteStorePath(loaded.config, { stateDir: loaded.stateDir, cwd: ctx.cwd, env: ctx.env });
  if (!existsSync(path)) return undefined;
  const store = await openSqliteStore(path, { clock: ctx.clock });
  try {
    return await resolveSandboxRef(store, ref, { allowDestroyed: true });
  } catch (e) {
    if (isKmError(e) && (e.code === 'not_found' || e.code === 'usage')) return undefined;
    throw e;
  } finally {
    await store.close();
  }
}

/** The sandbox's stored resolved profile with the gateway settings it was created with. */
function compileForSandbox(s: SandboxRecord, loaded: Config): CompiledPolicy {
  const settings = readGatewaySettings(sandboxPaths(loaded.stateDir, s.id));
  return compilePolicy((s.profile as Profile).spec, {
    sandboxId: s.id,
    extraMeteringHosts: settings?.extraMeteringHosts ?? loaded.config.metering.extra_hosts,
    hostOverrides: settings?.upstream.hostOverrides ?? loaded.config.gateway.host_overrides,
  });
}

function compileForProfile(ctx: CommandContext, loaded: Config, ref: string, searchPaths: string[]): CompiledPolicy {
  const { config } = loaded;
  const r = resolveProfile(ref, {
    cwd: ctx.cwd,
    searchPaths,
    reader: createFsReader(),
    home: ctx.env.HOME && ctx.env.HOME !== '' ? ctx.env.HOME : homedir(),
    ...(config.default_substrate ? { substrate: config.default_substrate } : {}),
    ...(config.region ? { region: config.region } : {}),
  });
  if (!r.ok) {
    for (const d of [...r.errors, ...r.warnings]) ctx.io.stderr.write(formatDiagnostic(d) + '\n');
    const n = r.errors.length;
    throw new KmError('profile_invalid', `${ref} is invalid (${n} error${n === 1 ? '' : 's'})`, { hint: `fix the lines above; check with km validate ${ref}` });
  }
  return compilePolicy(r.resolved.profile.spec, {
    // Hints name the command to re-check with, so they name what the user typed.
    sandboxId: ref,
    extraMeteringHosts: config.metering.extra_hosts,
    hostOverrides: config.gateway.host_overrides,
  });
}

/** True when `ref` names a profile in the search paths or a built-in. */
function isProfileName(ref: string, searchPaths: readonly string[]): boolean {
  if (ref.startsWith('builtin:')) return true;
  if (searchPaths.some((d) => existsSync(resolve(d, `${ref}.yaml`)) || existsSync(resolve(d, `${ref}.yml`)))) return true;
  return builtinProfiles().some((b) => b.name === ref);
}

/** Precedence (documented in the help): an existing file, then a sandbox reference, then a profile name. */
async function compileFor(ctx: CommandContext, ref: string): Promise<CompiledPolicy> {
  const loaded = await loadOperatorConfig({ env: ctx.env, cwd: ctx.cwd });
  const searchPaths = profileSearchPaths(loaded.config, { stateDir: loaded.stateDir, cwd: ctx.cwd, env: ctx.env });
  if (isExistingFile(ref, ctx.cwd)) return compileForProfile(ctx, loaded, ref, searchPaths);
  const sandbox = await sandboxFor(ctx, loaded, ref);
  if (sandbox) return compileForSandbox(sandbox, loaded);
  if (!isProfileName(ref, searchPaths)) {
    throw new KmError('not_found', `"${ref}" is neither a profile file, a sandbox (id, alias or number), a profile in ${searchPaths.join(' or ')}, nor a built-in profile`, {
      hint: 'give a profile file or name (km profile list) or a sandbox (km list)',
    });
  }
  return compileForProfile(ctx, loaded, ref, searchPaths);
}

export const policyExplainCommand: CommandModule = {
  async run(ctx) {
    const [ref, targetText] = ctx.args as [string, string];
    const method = typeof ctx.opts.method === 'string' ? ctx.opts.method : 'GET';
    if (!METHOD.test(method)) throw new KmError('usage', `invalid method "${method}"`, { hint: 'use an HTTP method such as GET or POST' });
    const target = parseExplainTarget(targetText);
    if (ctx.opts.method !== undefined && target.path === undefined) {
      throw new KmError('usage', '--method applies to URLs only', { hint: `give a URL, e.g. km policy explain ${ref} https://${targetText}/path --method ${method}` });
    }
    const policy = await compileFor(ctx, ref);
    const result = explain(policy, target, method.toUpperCase());
    if (ctx.global.json) writeJson(ctx.io, explainJson(result));
    else {
      const c = colors(ctx.global.color && ctx.io.stdout.isTTY === true);
      const text = renderExplain(result);
      ctx.io.stdout.write(text.replace(/^(ALLOW|DENY)/, (w) => (w === 'ALLOW' ? c.green(w) : c.red(w))));
    }
    return 0;
  },
};
