/**
 * `km create` (SPEC §8.4), in the order the spec gives: validate the profile with the flag
 * overrides, check the substrate, insert the row (`creating`, limit and alias checked
 * atomically), per-sandbox CA, gateway, substrate build (env, CA bundle, configFiles), init
 * commands, `running`. Any failure after the row exists leaves the sandbox `failed` with
 * the reason; `km destroy` removes it.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KmError } from '../core/errors.ts';
import { isAlias, newSandboxId } from '../core/ids.ts';
import { createSandboxCa } from '../gateway/index.ts';
import { durationSeconds, type Profile, type Substrate as SubstrateName } from '../profile/index.ts';
import type { SandboxRecord } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import { sandboxPaths, writeSandboxFiles } from './files.ts';
import { identityKeysDir, mailPolicyOf, provisionIdentity } from '../identity/index.ts';
import { computeRateFor, rateInputOf } from '../budget/index.ts';
import { imageLayerDir, readImage } from './images.ts';
import { runInitCommands } from './init.ts';
import { overrideProfile } from './overrides.ts';
import { labelOf } from './record.ts';
import { configFilesOf, emailAddressOf, limitsOf, mountsOf, sandboxEnvironment } from './spec.ts';
import type { CreateConfig, CreateRequest, ProgressSink, SandboxServiceDeps } from './types.ts';

const DOCKER_SOCKET = '/var/run/docker.sock';

/** `$KM_HOME/shared` (runtime.mountEFS): shared by sandboxes, whatever host uid their trees run as. */
function ensureSharedDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o1777);
}

/** Refuses substrates this machine cannot use, before anything is created. */
export function checkSubstrate(deps: SandboxServiceDeps, name: SubstrateName): Substrate {
  const s = deps.substrates[name];
  if (s) return s;
  const why = deps.unavailable?.[name];
  if (why) throw new KmError('substrate_unavailable', `substrate ${name} is unavailable: ${why}`, { hint: 'km doctor shows what this host lacks' });
  if (name === 'docker') {
    const why = existsSync(DOCKER_SOCKET) ? 'the docker substrate is not available in this version' : `no Docker daemon at unix://${DOCKER_SOCKET}`;
    throw new KmError('substrate_unavailable', `substrate docker is unavailable: ${why}`, { hint: 'use --substrate local' });
  }
  if (name === 'ec2' || name === 'ecs') {
    throw new KmError('substrate_unavailable', `substrate ${name} needs AWS configuration; run km configure`, { hint: 'or create on this machine with --substrate local' });
  }
  throw new KmError('substrate_unavailable', `substrate ${name} is unavailable on this machine`);
}

/** `runtime.ami` on local: a baked local image (its layer is copied in), else the host base. */
function imageOf(kmHome: string, profile: Profile): { name: string; layer: string } | undefined {
  const ami = profile.spec.runtime.ami;
  if (ami === undefined || /^ami-/.test(ami) || ['amazon-linux-2023', 'ubuntu-24.04', 'ubuntu-22.04'].includes(ami)) return undefined;
  if (!readImage(kmHome, ami)) throw new KmError('profile_invalid', `runtime.ami: no local image "${ami}" (see km image list)`);
  return { name: ami, layer: imageLayerDir(kmHome, ami) };
}

/** `reason` null: the substrate can attach the BPF gatekeeper (decided again once it is built). */
function effectiveEnforcement(profile: Profile, config: CreateConfig, substrate: Substrate, reason: string | null = null): { effective: string; warning?: string } {
  const requested = profile.spec.network.enforcement;
  if (requested === 'proxy') return { effective: 'proxy' };
  const why = reason ?? (substrate.gatekeeperUnavailable ? substrate.gatekeeperUnavailable() : `the ${substrate.name} substrate has no BPF gatekeeper`);
  if (why === null) return { effective: requested };
  if (config.requireEbpf) {
    throw new KmError('substrate_unavailable', `enforcement: ${requested} requested but BPF is unavailable (${why})`, {
      hint: 'set spec.network.enforcement: proxy, or require_ebpf: false in the operator config',
    });
  }
  return { effective: 'proxy', warning: `enforcement: ${requested} requested, proxy effective (BPF unavailable: ${why})` };
}

function insertFields(deps: SandboxServiceDeps, req: CreateRequest, profile: Profile, substrate: string) {
  const now = deps.clock.now();
  const lc = profile.spec.lifecycle;
  const ttlS = durationSeconds(lc.ttl);
  const prefix = profile.metadata.prefix ?? 'sb';
  const id = (deps.newId ?? newSandboxId)(prefix);
  return {
    id,
    alias: req.alias ?? null,
    profileName: req.profileName,
    profile,
    substrate,
    region: profile.spec.runtime.region,
    status: 'creating' as const,
    createdAtMs: now,
    expiresAtMs: ttlS > 0 ? now + ttlS * 1000 : null,
    idleTimeoutS: durationSeconds(lc.idleTimeout),
    maxExpiresAtMs: lc.maxLifetime !== undefined ? now + durationSeconds(lc.maxLifetime) * 1000 : null,
    teardownPolicy: lc.teardownPolicy,
    enforcementRequested: profile.spec.network.enforcement,
    aiLimitUsd: profile.spec.budget.ai?.maxSpendUSD ?? null,
    computeLimitUsd: profile.spec.budget.compute?.maxSpendUSD ?? null,
    warningThreshold: profile.spec.budget.warningThreshold,
    emailAddress: emailAddressOf(id, { email_subdomain: req.config.emailSubdomain, ...(req.config.domain ? { domain: req.config.domain } : {}) }),
    createdBy: req.createdBy ?? 'cli',
  };
}

export interface PreparedCreate {
  profile: Profile;
  substrate: Substrate;
  substrateName: string;
  image: { name: string; layer: string } | undefined;
  enforcement: { effective: string; warning?: string };
}

/** Everything that can refuse a create without side effects. */
export function prepareCreate(deps: SandboxServiceDeps, req: CreateRequest): PreparedCreate {
  if (req.abstract || req.profile.metadata.abstract) {
    throw new KmError('profile_invalid', 'cannot create from an abstract fragment; use a profile that extends it');
  }
  if (req.alias != null && !isAlias(req.alias)) {
    throw new KmError('usage', `invalid alias "${req.alias}": use lowercase letters, digits and -, starting with a letter (at most 32), not shaped like an id`);
  }
  const { profile, substrate: substrateName } = overrideProfile(req.profile, req.overrides ?? {});
  const substrate = checkSubstrate(deps, substrateName);
  const image = substrateName === 'local' ? imageOf(deps.kmHome, profile) : undefined;
  return { profile, substrate, substrateName, image, enforcement: effectiveEnforcement(profile, req.config, substrate) };
}

export interface BuildOptions {
  /** Clone: copy the writable layer of this sandbox (init commands are then not run). */
  copyFrom?: string;
  clonedFrom?: string;
}

/** Inserts the row and builds the sandbox; returns the running record. */
export async function buildSandbox(
  deps: SandboxServiceDeps,
  req: CreateRequest,
  prep: PreparedCreate,
  progress: ProgressSink,
  opts: BuildOptions = {},
): Promise<SandboxRecord> {
  const fields = insertFields(deps, req, prep.profile, prep.substrateName);
  const row = await deps.store.insertSandbox(
    { ...fields, ...(opts.clonedFrom ? { clonedFrom: opts.clonedFrom } : {}), ...(prep.image ? { image: prep.image.name } : {}) },
    { maxActive: req.config.maxSandboxes },
  );
  await deps.events.lifecycle(row.id, 'creating', req.createdBy === 'schedule' ? 'schedule' : 'operator', {
    profile: row.profileName,
    substrate: row.substrate,
    ...(opts.clonedFrom ? { cloned_from: opts.clonedFrom } : {}),
  });
  progress({ type: 'step', message: `creating ${row.id}${row.alias ? ` (${row.alias}, #${row.number})` : ` (#${row.number})`} from ${row.profileName}` });
  if (prep.enforcement.warning) progress({ type: 'warning', message: prep.enforcement.warning });
  try {
    return await build(deps, req, prep, row, progress, opts);
  } catch (e) {
    await failCreate(deps, prep.substrate, row, e);
    throw e;
  }
}

async function build(deps: SandboxServiceDeps, req: CreateRequest, prep: PreparedCreate, row: SandboxRecord, progress: ProgressSink, opts: BuildOptions) {
  const paths = sandboxPaths(deps.kmHome, row.id);
  const ca = await createSandboxCa(row.id, deps.clock);
  writeSandboxFiles(paths, ca, { upstream: req.config.gateway, extraMeteringHosts: req.config.extraMeteringHosts });
  const email = prep.profile.spec.email;
  await provisionIdentity(deps.store, identityKeysDir(deps.kmHome, row.id), {
    sandboxId: row.id,
    alias: email.alias ?? null,
    emailAddress: row.emailAddress ?? '',
    policy: mailPolicyOf(email),
    clock: deps.clock,
  });
  const rate = computeRateFor(rateInputOf(prep.profile));
  await deps.store.setComputeRate(row.id, rate.ratePerHourUsd, rate.source);
  progress({ type: 'step', message: 'opening the gateway' });
  await deps.gateways.open(row);
  progress({ type: 'step', message: `building the sandbox on ${prep.substrate.name}` });
  const p = prep.profile;
  const env = sandboxEnvironment({ id: row.id, alias: row.alias, emailAddress: row.emailAddress ?? '', profile: p, sharedDir: join(deps.kmHome, 'shared'), noBedrock: req.overrides?.noBedrock ?? false });
  const limits = limitsOf(p);
  if (p.spec.runtime.mountEFS) ensureSharedDir(join(deps.kmHome, 'shared'));
  const info = await prep.substrate.create({
    id: row.id,
    stateDir: paths.stateDir,
    gatewayDir: paths.gatewayDir,
    env,
    workingDir: p.spec.execution.workingDir,
    shell: p.spec.execution.shell,
    caPem: ca.certPem,
    hostname: row.alias ?? row.id,
    ...(limits ? { limits } : {}),
    privileged: p.spec.execution.privileged,
    configFiles: configFilesOf(p),
    gatekeeper: prep.enforcement.effective !== 'proxy',
    mounts: mountsOf({ id: row.id, alias: row.alias, emailAddress: '', profile: p, sharedDir: join(deps.kmHome, 'shared') }),
    ...(opts.copyFrom
      ? { copyLayerFrom: sandboxPaths(deps.kmHome, opts.copyFrom).stateDir }
      : prep.image
        ? { copyLayerFrom: prep.image.layer }
        : {}),
  });
  for (const w of info.warnings) progress({ type: 'warning', message: w });
  const enforcement = gatekeeperOutcome(prep, req.config, info.features.gatekeeper === true, info.warnings, progress);
  if (!opts.copyFrom && p.spec.execution.initCommands.length > 0) {
    await runInitCommands({
      substrate: prep.substrate,
      sandboxId: row.id,
      label: labelOf(row),
      shell: p.spec.execution.shell,
      commands: p.spec.execution.initCommands,
      timeoutS: req.config.initTimeoutS,
      progress,
      events: deps.events,
    });
  }
  const now = deps.clock.now();
  const running = await deps.store.transition(row.id, ['creating'], 'running', { lastStartedAtMs: now, enforcementEffective: enforcement }, { atMs: now });
  await deps.events.lifecycle(row.id, 'running', req.createdBy === 'schedule' ? 'schedule' : 'operator', { reason: 'created' });
  return running;
}

/** The gatekeeper was expected but did not attach: an error under require_ebpf, else proxy. */
function gatekeeperOutcome(prep: PreparedCreate, config: CreateConfig, attached: boolean, warnings: string[], progress: ProgressSink): string {
  if (prep.enforcement.effective === 'proxy' || attached) return prep.enforcement.effective;
  const why = (warnings.find((w) => w.startsWith('BPF gatekeeper not attached: ')) ?? 'it did not attach').replace('BPF gatekeeper not attached: ', '');
  const outcome = effectiveEnforcement(prep.profile, config, prep.substrate, why);
  if (outcome.warning) progress({ type: 'warning', message: outcome.warning });
  return outcome.effective;
}

async function failCreate(deps: SandboxServiceDeps, substrate: Substrate, row: SandboxRecord, e: unknown): Promise<void> {
  const reason = e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e);
  await substrate.stop(row.id, { graceMs: 0 }).catch(() => undefined);
  await deps.gateways.close(row.id).catch(() => undefined);
  try {
    await deps.store.transition(row.id, ['creating'], 'failed', { statusReason: reason }, { atMs: deps.clock.now() });
    await deps.events.lifecycle(row.id, 'failed', 'operator', { reason });
  } catch {
    // destroyed meanwhile: nothing to mark
  }
}
