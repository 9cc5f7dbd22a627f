/**
 * The sections of `spec` (SPEC §1.2), one strict zod object each, with defaults and a
 * description on every field. A declarative table: long by nature.
 */
import { z } from 'zod';
import { absPath, bool, duration, egressEntry, envKey, pathRuleEntry, refPattern, region, repoPattern } from './schema-fields.ts';

export const SUBSTRATES = ['local', 'docker', 'ec2', 'ecs'] as const;
export type Substrate = (typeof SUBSTRATES)[number];

const list = <T extends z.ZodType>(item: T, what: string) => z.array(item).default([]).describe(what);

export const Lifecycle = z
  .strictObject({
    ttl: duration(true).default('8h').describe('Wall-clock expiry after create; "0" = never expires'),
    idleTimeout: duration(true).default('1h').describe('Idle period that triggers teardown; "0" = off'),
    teardownPolicy: z.enum(['destroy', 'stop', 'retain']).default('destroy').describe('What TTL/idle expiry does'),
    maxLifetime: duration(false).optional().describe('Hard cap: expiry can never pass created_at + maxLifetime'),
  })
  .prefault({})
  .describe('Lifetime: TTL, idle timeout, teardown');

const AdditionalVolume = z
  .strictObject({
    size: z.int().min(1, 'size must be at least 1 (GiB)').describe('Size in GiB (advisory on local/docker)'),
    mountPoint: absPath().describe('Where the volume is mounted'),
    encrypted: bool().default(true).describe('Encrypt the volume (local: relies on host disk encryption)'),
  })
  .describe('An extra volume kept across stop/resume');

export const Runtime = z
  .strictObject({
    substrate: z.enum(SUBSTRATES).optional().describe('Where the sandbox runs; default: the operator default_substrate'),
    instanceType: z
      .string()
      .regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, { error: (i) => `${JSON.stringify(i.input)} is not an instance type (such as t3.medium)` })
      .optional()
      .describe('Instance type; on local/docker its CPU and memory become limits and its price the compute rate'),
    region: region().default('us-east-1').describe('AWS region; default: the operator region, else us-east-1'),
    spot: bool().default(false).describe('Spot capacity (ec2: persistent request; ecs: FARGATE_SPOT)'),
    hibernation: bool().default(false).describe('Hibernate on pause and automatic stop (local: automatic stops pause)'),
    mountEFS: bool().default(false).describe('Mount the shared file system (local: $KM_HOME/shared)'),
    efsMountPoint: absPath().default('/shared').describe('Mount point of the shared file system'),
    rootVolumeSize: z.int().min(0, 'rootVolumeSize must be 0 (image default) or more GiB').default(0).describe('Root volume size in GiB; 0 = image default'),
    additionalVolume: AdditionalVolume.optional(),
    ami: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}$/, { error: (i) => `${JSON.stringify(i.input)} is not an image name, AMI slug or AMI ID` })
      .optional()
      .describe('Base image: AMI slug, ami-… ID, local image name, or Docker image reference'),
  })
  .prefault({})
  .describe('Where and on what the sandbox runs');

export const Execution = z
  .strictObject({
    shell: absPath().default('/bin/bash').describe('Login shell and shell for init commands'),
    workingDir: absPath().default('/workspace').describe('Working directory of shells, exec and agent runs'),
    useBedrock: bool().default(false).describe('Agents use AWS Bedrock'),
    privileged: bool().default(false).describe('The agent may become root inside the sandbox'),
    env: z.record(envKey(), z.string()).default({}).describe('Environment for every process (reserved names rejected)'),
    configFiles: z.record(absPath(), z.string()).default({}).describe('Files written at create: absolute path → content'),
    initCommands: list(z.string(), 'Commands run as root inside the sandbox at create, in order'),
  })
  .prefault({})
  .describe('What runs in the sandbox');

const positive = (dimension: 'ai' | 'compute') =>
  z
    .number()
    .gt(0, `use a positive amount, or remove budget.${dimension} to leave ${dimension === 'ai' ? 'AI' : 'compute'} spend unlimited`);

export const Budget = z
  .strictObject({
    compute: z
      .strictObject({
        maxSpendUSD: positive('compute').optional().describe('Compute spend limit in USD; omit for no limit'),
        ratePerHourUSD: z.number().min(0, 'ratePerHourUSD must be 0 or more').optional().describe('Overrides the hourly compute rate'),
      })
      .optional()
      .describe('Compute budget'),
    ai: z
      .strictObject({ maxSpendUSD: positive('ai').optional().describe('AI spend limit in USD; omit for no limit') })
      .optional()
      .describe('AI budget'),
    warningThreshold: z
      .number()
      .gt(0, 'warningThreshold must be in (0, 1]')
      .lte(1, 'warningThreshold must be in (0, 1]')
      .default(0.8)
      .describe('Fraction of a limit that triggers the one-time warning'),
  })
  .prefault({})
  .describe('Dollar budgets for AI tokens and compute');

const PathRule = z
  .strictObject({
    host: z.string().min(1, 'host must not be empty').describe('Host the rules apply to (intercepted)'),
    allow: z.array(pathRuleEntry()).describe('Allowed requests: "METHOD /glob"'),
  })
  .describe('L7 path allowlist for one host');

export const Network = z
  .strictObject({
    enforcement: z.enum(['proxy', 'ebpf', 'both']).default('proxy').describe('Enforcement mode (SPEC §3.5)'),
    httpsOnly: bool().default(false).describe('Refuse plain HTTP through the proxy'),
    egress: z
      .strictObject({
        allowedDNSSuffixes: list(egressEntry('allowedDNSSuffixes'), 'Domain suffixes: the domain and every subdomain'),
        allowedHosts: list(egressEntry('allowedHosts'), 'Exact hosts, .suffix entries, IP literals, optional :port'),
        pathRules: list(PathRule, 'L7 path allowlists; force interception of their hosts'),
      })
      .prefault({})
      .describe('Default-deny egress allowlists'),
  })
  .prefault({})
  .describe('Network egress policy');

export const SourceAccess = z
  .strictObject({
    mode: z.enum(['allowlist', 'none']).default('allowlist').describe('allowlist: GitHub access limited to listed repos and refs'),
    github: z
      .strictObject({
        allowedRepos: list(repoPattern(), 'owner/repo, owner/*, * (optional github.com/ prefix)'),
        allowedRefs: z.array(refPattern()).optional().describe('Ref globs that may be pushed; absent = any, [] = no pushes'),
        allowForcePush: bool().default(false).describe('Allow non-fast-forward pushes'),
        allowRefDeletion: bool().default(false).describe('Allow deleting refs'),
        allowGraphQL: bool().default(false).describe('Allow POST api.github.com/graphql (not repo-scoped)'),
      })
      .prefault({})
      .describe('GitHub repository and ref allowlists'),
  })
  .prefault({})
  .describe('GitHub source access');

export const Identity = z
  .strictObject({
    roleSessionDuration: duration(false).default('1h').describe('Lifetime of AWS session credentials (15m–12h)'),
    allowedRegions: z.array(region()).optional().describe('Regions the session policy allows; default [runtime.region]'),
    sessionPolicy: z.enum(['minimal', 'none']).default('minimal').describe('minimal: only what the sandbox needs; none: no AWS credentials'),
  })
  .prefault({})
  .describe('AWS identity of the sandbox');

export const Cli = z
  .strictObject({
    noBedrock: bool().default(false).describe('Default for --no-bedrock'),
    agent: z.enum(['claude', 'codex', 'goose']).default('claude').describe('Default agent for km agent run'),
    claudeArgs: list(z.string(), 'Extra Claude Code arguments'),
    codexArgs: list(z.string(), 'Extra Codex arguments'),
    gooseArgs: list(z.string(), 'Extra Goose arguments'),
    notifyEmailEnabled: bool().default(true).describe('Lifecycle/budget/run notices by email'),
    notificationEmailAddress: z
      .string()
      .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { error: (i) => `${JSON.stringify(i.input)} is not an email address` })
      .optional()
      .describe('Where notices go; default: operator_email'),
    notifyOnPermission: bool().default(false).describe('Notify when the agent asks for permission'),
    notifyOnIdle: bool().default(false).describe('Notify when the agent goes idle'),
    notifyCooldownSeconds: z.int().min(0, 'notifyCooldownSeconds must be 0 or more').default(300).describe('Minimum gap between hook notifications'),
    notifySlackEnabled: bool().default(false).describe('Slack notifications'),
    notifySlackPerSandbox: bool().default(false).describe('One Slack channel per sandbox'),
    notifySlackInboundEnabled: bool().default(false).describe('Accept prompts from the per-sandbox channel'),
    notifySlackTranscriptEnabled: bool().default(false).describe('Post run transcripts to the per-sandbox channel'),
    notifySlackChannelOverride: z
      .string()
      .regex(/^C[A-Z0-9]+$/, { error: (i) => `${JSON.stringify(i.input)} is not a Slack channel ID (such as C0123ABCD)` })
      .optional()
      .describe('Post to this channel instead'),
    slackArchiveOnDestroy: bool().default(true).describe('Archive the per-sandbox channel at destroy'),
  })
  .prefault({})
  .describe('CLI defaults and notifications');

export const Observability = z
  .strictObject({
    claudeTelemetry: z
      .strictObject({
        enabled: bool().default(true).describe('Claude Code OTEL telemetry'),
        logPrompts: bool().default(false).describe('Include prompts'),
        logToolDetails: bool().default(false).describe('Include tool details'),
      })
      .prefault({})
      .describe('Claude Code OTEL variables'),
    tlsCapture: z
      .strictObject({
        enabled: bool().default(false).describe('Record request lines of intercepted traffic'),
        libraries: z
          .array(z.enum(['openssl', 'gnutls', 'nss', 'go', 'rustls', 'all']))
          .default(['openssl'])
          .describe('Accepted for compatibility; km captures at the gateway'),
        capturePayloads: bool().default(false).describe('Also store bodies (redacted, at most 64 KiB each)'),
      })
      .prefault({})
      .describe('Capture of intercepted traffic'),
    learnMode: bool().default(false).describe('Record from create onward (learn mode)'),
  })
  .prefault({})
  .describe('Telemetry, capture and learn mode');

const mailPolicy = (def: 'optional' | 'off', what: string) => z.enum(['required', 'optional', 'off']).default(def).describe(what);

export const Email = z
  .strictObject({
    signing: mailPolicy('optional', 'Signing of outbound mail'),
    verifyInbound: mailPolicy('optional', 'Signature verification of inbound mail'),
    encryption: mailPolicy('off', 'Encryption of mail'),
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, { error: (i) => `${JSON.stringify(i.input)} is not an alias; use dotted lowercase words such as build.web` })
      .optional()
      .describe('Identity alias used by allowedSenders globs'),
    allowedSenders: z.array(z.string().min(1, 'empty sender pattern')).default(['*']).describe('Who may send mail to this sandbox'),
  })
  .prefault({})
  .describe('Signed inter-sandbox mail');

export const Spec = z
  .strictObject({
    lifecycle: Lifecycle,
    runtime: Runtime,
    execution: Execution,
    budget: Budget,
    network: Network,
    sourceAccess: SourceAccess,
    identity: Identity,
    cli: Cli,
    observability: Observability,
    email: Email,
  })
  .prefault({})
  .describe('Everything about the sandbox; every section is optional');
