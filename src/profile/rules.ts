/**
 * Semantic rules of SPEC §1.4 that relate several fields. Field syntax is checked by the
 * schema; these run on the parsed profile (defaults applied) of a leaf.
 */
import { tryParseDuration } from '../core/duration.ts';
import { compileEgress, GITHUB_HOSTS, isIpLiteral, normaliseName } from './egress.ts';
import { substrateFindings, type Finding } from './rules-substrate.ts';
import type { Profile, ProfileSpec } from './schema.ts';
import type { Substrate } from './schema-sections.ts';

export type { Finding };

const seconds = (text: string): number => {
  const r = tryParseDuration(text, { allowZero: true });
  return r.ok ? r.seconds : 0;
};

const error = (path: Finding['path'], message: string): Finding => ({ path, message, severity: 'error' });
const warning = (path: Finding['path'], message: string): Finding => ({ path, message, severity: 'warning' });

const RESERVED_MOUNTS = new Set(['/', '/proc', '/sys', '/dev', '/etc', '/usr', '/bin', '/lib', '/home', '/root', '/tmp', '/run', '/workspace']);

function lifecycleFindings(spec: ProfileSpec): Finding[] {
  const out: Finding[] = [];
  const lc = spec.lifecycle;
  const ttl = seconds(lc.ttl);
  const idle = seconds(lc.idleTimeout);
  const lcPath = ['spec', 'lifecycle'];
  if (ttl > 0 && idle > 0 && ttl < idle) {
    out.push(error([...lcPath, 'ttl'], `ttl (${lc.ttl}) is shorter than idleTimeout (${lc.idleTimeout}); raise ttl or lower idleTimeout`));
  }
  if (lc.maxLifetime !== undefined && ttl > 0 && seconds(lc.maxLifetime) < ttl) {
    out.push(error([...lcPath, 'maxLifetime'], `maxLifetime (${lc.maxLifetime}) is shorter than ttl (${lc.ttl}); raise maxLifetime or lower ttl`));
  }
  const role = seconds(spec.identity.roleSessionDuration);
  if (role < 15 * 60 || role > 12 * 3600) {
    out.push(error(['spec', 'identity', 'roleSessionDuration'], `${spec.identity.roleSessionDuration} is outside 15m–12h`));
  }
  return out;
}

function egressFindings(spec: ProfileSpec, learnMode: boolean): Finding[] {
  const out: Finding[] = [];
  const eg = spec.network.egress;
  const base = ['spec', 'network', 'egress'];
  if (!learnMode) {
    for (const list of ['allowedDNSSuffixes', 'allowedHosts'] as const) {
      eg[list].forEach((e, i) => {
        if (e === '*') out.push(warning([...base, list, i], '"*" allows all egress'));
      });
    }
  }
  const gh = spec.sourceAccess;
  const implicitGithub = gh.mode === 'allowlist' && gh.github.allowedRepos.length > 0;
  const matcher = compileEgress(eg);
  eg.pathRules.forEach((rule, i) => {
    const where = [...base, 'pathRules', i, 'host'];
    const host = isIpLiteral(rule.host) ? rule.host.toLowerCase() : normaliseName(rule.host);
    if (host === undefined) {
      out.push(error(where, `${JSON.stringify(rule.host)} is not a host name`));
      return;
    }
    const allowed = matcher.allowing(host) !== undefined || (implicitGithub && GITHUB_HOSTS.includes(host));
    if (!allowed) {
      out.push(error(where, `${JSON.stringify(rule.host)} is not allowed by allowedHosts or allowedDNSSuffixes; pathRules only narrow a host that is allowed`));
    }
  });
  return out;
}

function sourceFindings(spec: ProfileSpec): Finding[] {
  const out: Finding[] = [];
  const sa = spec.sourceAccess;
  if (sa.mode === 'none') {
    const matcher = compileEgress(spec.network.egress);
    for (const host of GITHUB_HOSTS) {
      const rule = matcher.allowing(host);
      if (rule !== undefined) {
        out.push(warning(['spec', 'sourceAccess', 'mode'], `mode is none while ${host} is reachable (${rule}); any repository can be read and pushed`));
        break;
      }
    }
    if (sa.github.allowedRepos.length > 0) {
      out.push(warning(['spec', 'sourceAccess', 'github', 'allowedRepos'], 'has no effect with sourceAccess.mode: none'));
    }
  }
  if (sa.github.allowGraphQL) out.push(warning(['spec', 'sourceAccess', 'github', 'allowGraphQL'], 'GraphQL requests are not repo-scoped'));
  return out;
}

const normPath = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

function mountFindings(spec: ProfileSpec): Finding[] {
  const out: Finding[] = [];
  const mounts: Array<{ path: Finding['path']; at: string }> = [];
  if (spec.runtime.mountEFS) mounts.push({ path: ['spec', 'runtime', 'efsMountPoint'], at: normPath(spec.runtime.efsMountPoint) });
  const vol = spec.runtime.additionalVolume;
  if (vol) mounts.push({ path: ['spec', 'runtime', 'additionalVolume', 'mountPoint'], at: normPath(vol.mountPoint) });
  mounts.forEach((m, i) => {
    if (RESERVED_MOUNTS.has(m.at)) out.push(error(m.path, `${m.at} is reserved; choose another mount point such as /data`));
    const earlier = mounts.slice(0, i).find((o) => o.at === m.at);
    if (earlier) out.push(error(m.path, `${m.at} is already the mount point of ${earlier.path.slice(1).join('.')}`));
  });
  return out;
}

function notifyFindings(spec: ProfileSpec): Finding[] {
  const out: Finding[] = [];
  const cli = spec.cli;
  const at = (k: string) => ['spec', 'cli', k];
  for (const k of ['notifySlackInboundEnabled', 'notifySlackTranscriptEnabled'] as const) {
    if (cli[k] && !cli.notifySlackPerSandbox) out.push(error(at(k), 'needs notifySlackPerSandbox: true (it uses the per-sandbox channel)'));
  }
  if (cli.notifySlackChannelOverride !== undefined && cli.notifySlackPerSandbox) {
    out.push(error(at('notifySlackChannelOverride'), 'cannot be combined with notifySlackPerSandbox: true; choose one'));
  }
  if (!cli.notifySlackEnabled) {
    for (const k of ['notifySlackPerSandbox', 'notifySlackInboundEnabled', 'notifySlackTranscriptEnabled'] as const) {
      if (cli[k]) out.push(warning(at(k), 'has no effect without notifySlackEnabled: true'));
    }
    if (cli.notifySlackChannelOverride !== undefined) out.push(warning(at('notifySlackChannelOverride'), 'has no effect without notifySlackEnabled: true'));
  }
  if (spec.email.encryption !== 'off' && spec.email.signing === 'off') {
    out.push(warning(['spec', 'email', 'encryption'], `encryption is ${spec.email.encryption} while signing is off; encrypted mail is still unauthenticated`));
  }
  const cap = spec.observability.tlsCapture;
  if (cap.capturePayloads && !cap.enabled) {
    out.push(warning(['spec', 'observability', 'tlsCapture', 'capturePayloads'], 'has no effect without tlsCapture.enabled: true'));
  }
  return out;
}

/** All cross-field findings for a leaf profile on the given substrate. */
export function semanticFindings(profile: Profile, substrate: Substrate): Finding[] {
  const spec = profile.spec;
  const out: Finding[] = [];
  if (!profile.metadata.abstract && profile.metadata.name === undefined) {
    out.push(error(['metadata', 'name'], 'required; name the profile, or set metadata.abstract: true for a fragment that is only extended'));
  }
  out.push(...lifecycleFindings(spec));
  out.push(...egressFindings(spec, spec.observability.learnMode));
  out.push(...sourceFindings(spec));
  out.push(...mountFindings(spec));
  out.push(...notifyFindings(spec));
  out.push(...substrateFindings(spec, substrate));
  return out;
}
