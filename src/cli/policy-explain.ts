/**
 * `km policy explain <profile|sb> <host|url> [--method M] [--json]` (SPEC §3.7): resolve the
 * profile, compile its policy with the operator's metering hosts and overrides, and show
 * the decision for one destination without sending anything. Exit 0 for either decision.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadOperatorConfig, profileSearchPaths } from '../config/index.ts';
import { formatDiagnostic } from '../core/diagnostics.ts';
import { KmError } from '../core/errors.ts';
import { compilePolicy, explain, explainJson, parseExplainTarget, renderExplain } from '../policy/index.ts';
import { builtinProfiles, createFsReader, resolveProfile } from '../profile/index.ts';
import { colors, writeJson } from './output.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const METHOD = /^[A-Za-z]{1,16}$/;

/** True when `ref` names a profile file, a profile in the search paths, or a built-in. */
function isProfileRef(ref: string, cwd: string, searchPaths: readonly string[]): boolean {
  if (ref.startsWith('builtin:')) return true;
  if (ref.includes('/') || /\.ya?ml$/.test(ref)) return existsSync(resolve(cwd, ref));
  if (searchPaths.some((d) => existsSync(resolve(d, `${ref}.yaml`)) || existsSync(resolve(d, `${ref}.yml`)))) return true;
  return builtinProfiles().some((b) => b.name === ref);
}

async function compileFor(ctx: CommandContext, ref: string) {
  const { config, stateDir } = await loadOperatorConfig({ env: ctx.env, cwd: ctx.cwd });
  const searchPaths = profileSearchPaths(config, { stateDir, cwd: ctx.cwd, env: ctx.env });
  if (!isProfileRef(ref, ctx.cwd, searchPaths)) {
    throw new KmError('not_found', `"${ref}" is neither a profile file, a profile in ${searchPaths.join(' or ')}, nor a built-in profile`, {
      hint: 'give a profile file or name (km profile list shows them); explaining a sandbox\'s policy by reference is not available in this version',
    });
  }
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
  const { profile } = r.resolved;
  return compilePolicy(profile.spec, {
    // Hints name the command to re-check with, so they name what the user typed.
    sandboxId: ref,
    extraMeteringHosts: config.metering.extra_hosts,
    hostOverrides: config.gateway.host_overrides,
  });
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
