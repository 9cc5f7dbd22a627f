/**
 * From a resolved profile to what the substrate needs (SPEC §9.4): environment (profile
 * `env` plus km's variables; proxy and CA variables are the substrate's), config files,
 * limits from the instance type, mounts. Pure.
 */
import { SANDBOX_BIN_DIR, SANDBOX_BIN_MOUNT, SANDBOX_SUDO_DIR, SANDBOX_SUDO_MOUNT } from '../internal-api/paths.ts';
import { instanceSpec, type Profile } from '../profile/index.ts';
import type { ConfigFile, SandboxLimits, SandboxMount } from '../substrate/index.ts';

export interface SpecInput {
  id: string;
  alias: string | null;
  emailAddress: string;
  profile: Profile;
  /** `$KM_HOME/shared`, mounted when `runtime.mountEFS`. */
  sharedDir: string;
  /** `--no-bedrock`: drop every Bedrock setting, whoever set it. */
  noBedrock?: boolean;
}

const BEDROCK_VARS = ['CLAUDE_CODE_USE_BEDROCK'];

/** Telemetry (SPEC §13.4), Bedrock (§10.3) and identity variables; profile `env` wins for non-KM ones. */
export function sandboxEnvironment(input: SpecInput): Record<string, string> {
  const { spec } = input.profile;
  const injected: Record<string, string> = {};
  const tel = spec.observability.claudeTelemetry;
  if (tel.enabled) {
    Object.assign(injected, {
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    if (tel.logPrompts) injected.OTEL_LOG_USER_PROMPTS = '1';
    if (tel.logToolDetails) injected.OTEL_LOG_TOOL_DETAILS = '1';
  }
  if (spec.execution.useBedrock) {
    injected.CLAUDE_CODE_USE_BEDROCK = '1';
    injected.AWS_REGION = spec.runtime.region;
  }
  const env: Record<string, string> = { ...injected, ...spec.execution.env };
  if (input.noBedrock) {
    for (const k of BEDROCK_VARS) delete env[k];
    if (env.GOOSE_PROVIDER === 'aws_bedrock') delete env.GOOSE_PROVIDER;
    for (const k of Object.keys(env)) if (k.startsWith('ANTHROPIC_DEFAULT_') && k.endsWith('_MODEL')) delete env[k];
  }
  if (tel.enabled) env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://km.internal';
  env.KM_SANDBOX_ID = input.id;
  env.KM_SANDBOX_ALIAS = input.alias ?? '';
  env.KM_EMAIL_ADDRESS = input.emailAddress;
  return env;
}

export function configFilesOf(profile: Profile): ConfigFile[] {
  return Object.entries(profile.spec.execution.configFiles).map(([path, content]) => ({ path, content }));
}

/** CPU and memory from `runtime.instanceType` (applied when kmd runs as root), pids ≥ 1024. */
export function limitsOf(profile: Profile): SandboxLimits | undefined {
  const type = profile.spec.runtime.instanceType;
  const inst = type === undefined ? undefined : instanceSpec(type);
  if (!inst) return undefined;
  return { cpus: inst.vcpu, memoryBytes: Math.round(inst.memoryGiB * 1024 ** 3), pids: 4096 };
}

export function mountsOf(input: SpecInput): SandboxMount[] {
  const rt = input.profile.spec.runtime;
  // Sandbox-side tools (km-mail) at /opt/km/bin, read-only; the substrate puts it on PATH.
  const tools: SandboxMount = { hostPath: SANDBOX_BIN_DIR, path: SANDBOX_BIN_MOUNT, readOnly: true };
  // sudo (SPEC §9.3) exists only in privileged sandboxes.
  const sudo: SandboxMount[] = input.profile.spec.execution.privileged ? [{ hostPath: SANDBOX_SUDO_DIR, path: SANDBOX_SUDO_MOUNT, readOnly: true }] : [];
  return [tools, ...sudo, ...(rt.mountEFS ? [{ hostPath: input.sharedDir, path: rt.efsMountPoint, readOnly: false }] : [])];
}

/** `{id}@{email_subdomain}.{domain}`, default domain part `sandboxes.km.internal` (SPEC §12.1). */
export function emailAddressOf(id: string, config: { email_subdomain?: string; domain?: string | undefined }): string {
  const sub = config.email_subdomain ?? 'sandboxes';
  return config.domain ? `${id}@${sub}.${config.domain}` : `${id}@${sub}.km.internal`;
}
