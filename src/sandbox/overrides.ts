/**
 * `km create` flag overrides (SPEC §8.4): applied to the resolved profile, then the result
 * is validated again (schema + cross-field rules for the effective substrate). A rule that
 * only fails because of a flag is a `flag conflict` (exit 2). Pure.
 */
import { formatPath } from '../core/diagnostics.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { ProfileSchema, SUBSTRATES, semanticFindings, type Profile, type Substrate } from '../profile/index.ts';

export interface CreateOverrides {
  ttl?: string;
  idle?: string;
  ai?: number;
  compute?: number;
  noBedrock?: boolean;
  onDemand?: boolean;
  substrate?: string;
  docker?: boolean;
}

/** The create flags (`--ttl --idle --ai --compute --substrate --docker --on-demand --no-bedrock`) as overrides. */
export function overridesFromFlags(opts: Readonly<Record<string, unknown>>): CreateOverrides {
  const str = (n: string): string | undefined => (typeof opts[n] === 'string' ? (opts[n] as string) : undefined);
  const o: CreateOverrides = {};
  const [ttl, idle, ai, compute, substrate] = ['ttl', 'idle', 'ai', 'compute', 'substrate'].map(str);
  if (ttl !== undefined) o.ttl = ttl;
  if (idle !== undefined) o.idle = idle;
  if (ai !== undefined) o.ai = parseUsd('ai', ai);
  if (compute !== undefined) o.compute = parseUsd('compute', compute);
  if (substrate !== undefined) o.substrate = substrate;
  if (opts.docker === true) o.docker = true;
  if (opts['on-demand'] === true) o.onDemand = true;
  if (opts['no-bedrock'] === true) o.noBedrock = true;
  return o;
}

/** Parses `--ai` / `--compute` values: a positive USD amount. */
export function parseUsd(flag: string, text: string): number {
  const n = Number(text.replace(/^\$/, ''));
  if (!Number.isFinite(n) || n <= 0 || text.trim() === '') {
    throw new KmError('usage', `invalid amount for --${flag}: "${text}"`, { hint: 'give a positive USD amount such as 5 or 2.50' });
  }
  return n;
}

function chosenSubstrate(o: CreateOverrides): Substrate | undefined {
  if (o.docker && o.substrate !== undefined && o.substrate !== 'docker') {
    throw new KmError('usage', `flag conflict: --docker and --substrate ${o.substrate}`, { hint: 'give only one of them' });
  }
  const s = o.docker ? 'docker' : o.substrate;
  if (s === undefined) return undefined;
  if (!(SUBSTRATES as readonly string[]).includes(s)) {
    throw new KmError('usage', `unknown substrate "${s}"`, { hint: `use one of ${SUBSTRATES.join(', ')}` });
  }
  return s as Substrate;
}

/** The profile with the flags applied (not yet validated). */
export function applyOverrides(profile: Profile, o: CreateOverrides): Profile {
  const p = structuredClone(profile);
  const spec = p.spec;
  if (o.ttl !== undefined) spec.lifecycle.ttl = formatDuration(parseDuration(o.ttl, { allowZero: true, spelled: true }));
  if (o.idle !== undefined) spec.lifecycle.idleTimeout = formatDuration(parseDuration(o.idle, { allowZero: true, spelled: true }));
  if (o.ai !== undefined) spec.budget.ai = { ...(spec.budget.ai ?? {}), maxSpendUSD: o.ai };
  if (o.compute !== undefined) spec.budget.compute = { ...(spec.budget.compute ?? {}), maxSpendUSD: o.compute };
  if (o.noBedrock) spec.execution.useBedrock = false;
  if (o.onDemand) spec.runtime.spot = false;
  const sub = chosenSubstrate(o);
  if (sub !== undefined) spec.runtime.substrate = sub;
  return p;
}

const errorKeys = (profile: Profile, substrate: Substrate): Set<string> =>
  new Set(semanticFindings(profile, substrate).filter((f) => f.severity === 'error').map((f) => `${formatPath(f.path)}: ${f.message}`));

/**
 * Applies the flags and validates the result. Errors the original already had are reported
 * as an invalid profile; errors only the flags introduced as `flag conflict: …`.
 */
export function overrideProfile(profile: Profile, o: CreateOverrides): { profile: Profile; substrate: Substrate } {
  const original = ProfileSchema.safeParse(profile);
  if (!original.success) {
    const issue = original.error.issues[0];
    throw new KmError('profile_invalid', `the profile is invalid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch'}`);
  }
  const before = profile.spec.runtime.substrate ?? 'local';
  const next = applyOverrides(original.data, o);
  const parsed = ProfileSchema.safeParse(next);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KmError('usage', `flag conflict: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'the flags make the profile invalid'}`);
  }
  const substrate = (parsed.data.spec.runtime.substrate ?? before) as Substrate;
  const had = errorKeys(profile, before);
  const now = semanticFindings(parsed.data, substrate).filter((f) => f.severity === 'error');
  const fresh = now.filter((f) => !had.has(`${formatPath(f.path)}: ${f.message}`));
  const first = fresh[0] ?? now[0];
  if (first) {
    const [what, fix] = first.message.split('; ');
    const conflict = fresh.length > 0;
    throw new KmError(conflict ? 'usage' : 'profile_invalid', conflict ? `flag conflict: ${what}` : `${formatPath(first.path)}: ${first.message}`, {
      ...(fix ? { hint: fix } : {}),
    });
  }
  return { profile: parsed.data, substrate };
}
