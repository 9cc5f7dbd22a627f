/**
 * What `km create` and `km clone` send to kmd besides the request: the resolved profile
 * (diagnostics printed as `file:line:col`) and the gateway/creation settings from the
 * operator config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { expandConfigPath, profileSearchPaths } from '../config/index.ts';
import { formatDiagnostic } from '../core/diagnostics.ts';
import { parseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { createFsReader, resolveProfile, type ResolvedProfile } from '../profile/index.ts';
import type { CreateConfig } from '../sandbox/index.ts';
import type { SandboxCliContext } from './sandbox-context.ts';
import type { CommandContext } from './spec.ts';

export function createConfigOf(c: SandboxCliContext, ctx: CommandContext): CreateConfig {
  const gw = c.config.gateway;
  const expand = { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env };
  let extraCaPem: string | undefined;
  if (gw.extra_ca_bundle !== undefined) {
    const path = expandConfigPath(gw.extra_ca_bundle, expand);
    if (!existsSync(path)) throw new KmError('config_invalid', `gateway.extra_ca_bundle: no file at ${path}`);
    extraCaPem = readFileSync(path, 'utf8');
  }
  return {
    maxSandboxes: c.config.max_sandboxes,
    gateway: {
      ...(gw.upstream_dns ? { upstreamDns: gw.upstream_dns } : {}),
      hostOverrides: gw.host_overrides,
      ...(extraCaPem ? { extraCaPem } : {}),
      ...(gw.upstream_proxy ? { upstreamProxy: gw.upstream_proxy } : {}),
      upstreamProxyBypass: gw.upstream_proxy_bypass,
    },
    extraMeteringHosts: c.config.metering.extra_hosts,
    initTimeoutS: parseDuration(c.config.init_timeout),
    requireEbpf: c.config.require_ebpf,
    emailSubdomain: c.config.email_subdomain,
    ...(c.config.domain ? { domain: c.config.domain } : {}),
  };
}

export function resolveForCreate(ctx: CommandContext, c: SandboxCliContext, ref: string): ResolvedProfile {
  const r = resolveProfile(ref, {
    cwd: ctx.cwd,
    searchPaths: profileSearchPaths(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }),
    reader: createFsReader(),
    home: ctx.env.HOME && ctx.env.HOME !== '' ? ctx.env.HOME : homedir(),
    ...(c.config.default_substrate ? { substrate: c.config.default_substrate } : {}),
    ...(c.config.region ? { region: c.config.region } : {}),
  });
  if (!r.ok) {
    for (const d of [...r.errors, ...r.warnings]) ctx.io.stderr.write(formatDiagnostic(d) + '\n');
    const n = r.errors.length;
    throw new KmError('profile_invalid', `${ref} is invalid (${n} error${n === 1 ? '' : 's'})`, { hint: `fix the lines above; check with km validate ${ref}` });
  }
  for (const d of r.warnings) ctx.io.stderr.write(formatDiagnostic(d) + '\n');
  return r.resolved;
}
