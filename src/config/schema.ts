/**
 * The operator configuration schema (SPEC §14.1): snake_case keys, strict (unknown keys are
 * errors), defaults for everything that has one. One source of truth for the loader, the
 * `KM_*` variable names, `km configure --set` and `km info`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { tryParseDuration } from '../core/duration.ts';

/** `ip`, `ip:port`, `[v6]:port` (a bare v6 address has no port). */
export function isIpPort(text: string): boolean {
  let host = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(host) !== 6) return false;
  } else if (isIP(text) === 6) {
    return true;
  } else {
    const i = text.lastIndexOf(':');
    if (i >= 0) [host, port] = [text.slice(0, i), text.slice(i + 1)];
    if (isIP(host) !== 4) return false;
  }
  if (port === undefined) return true;
  return /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

const ipPort = z.string().refine(isIpPort, { message: 'expected an IP address with an optional port, e.g. 10.0.0.2 or 10.0.0.2:5353 or [::1]:53' });
const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i, 'expected a DNS name such as example.com');
const duration = (label: string) =>
  z.string().refine((s) => tryParseDuration(s).ok, { message: `invalid duration for ${label}: use forms like 45m, 2h30m, 1d` });
const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as Europe/Berlin or UTC' },
);
/** YAML reads `123456789012` as a number; accept it and keep the digits as text. */
const digits = (label: string, length?: number) =>
  z
    .union([z.string(), z.number().int().nonnegative()])
    .transform((v) => String(v))
    .refine((s) => (length === undefined ? /^\d+$/.test(s) : new RegExp(`^\\d{${length}}$`).test(s)), {
      message: length === undefined ? `${label} must be digits` : `${label} must be ${length} digits (quote it if it starts with 0)`,
    });
const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'expected an email address');
const bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)');
const nonEmpty = z.string().min(1, 'must not be empty');

const ModelPriceSchema = z
  .object({
    provider: z.enum(['anthropic', 'openai', 'bedrock']),
    model: nonEmpty,
    match: z.array(nonEmpty).optional(),
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cache_write_5m: z.number().nonnegative().optional(),
    cache_write_1h: z.number().nonnegative().optional(),
    cache_read: z.number().nonnegative().optional(),
    cached_input: z.number().nonnegative().optional(),
  })
  .strict();

/** A nested section: strict, and present (with its defaults) even when the file omits it. */
const section = <T extends z.ZodRawShape>(shape: T, description: string) => z.object(shape).strict().prefault({} as never).describe(description);

export const OperatorConfigSchema = z
  .object({
    default_substrate: z.enum(['local', 'docker', 'ec2', 'ecs']).default('local').describe('Substrate used when a profile and flags do not choose one'),
    timezone: timezone.optional().describe('IANA zone for schedules and human output (default: the system zone)'),
    max_sandboxes: z.number().int().min(1).max(10_000).default(10).describe('Most non-destroyed sandboxes at once'),
    profile_search_paths: z.array(nonEmpty).default(['./profiles', '$KM_HOME/profiles']).describe('Directories searched for profile names'),
    retention_days: z.number().int().min(0).max(3650).default(30).describe('Days destroyed sandboxes keep their history'),
    resource_prefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must start with a lowercase letter and use at most 16 lowercase letters, digits and -')
      .default('km')
      .describe('Prefix of every AWS name, table, schedule group and SSM path'),
    domain: hostname.optional().describe('Mail and SES domain'),
    email_subdomain: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected one DNS label such as sandboxes')
      .default('sandboxes')
      .describe('Sandbox addresses are {id}@{email_subdomain}.{domain}'),
    operator_email: email.optional().describe('Operator inbox address'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region such as eu-west-1').optional().describe('AWS region'),
    gateway: section(
      {
        upstream_dns: z.array(ipPort).optional().describe('Resolvers (ip[:port]); default /etc/resolv.conf'),
        extra_ca_bundle: nonEmpty.optional().describe('PEM file of extra CAs trusted for upstream TLS'),
        host_overrides: z.record(hostname, ipPort).default({}).describe('name → ip[:port] the gateway connects to instead of resolving'),
        upstream_proxy: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// proxy URL' }).optional().describe('Parent HTTP proxy'),
        upstream_proxy_bypass: z.array(nonEmpty).default([]).describe('NO_PROXY-style exceptions for upstream_proxy'),
      },
      'Upstream resolution (SPEC §3.6)',
    ),
    require_ebpf: z.boolean().default(false).describe('Refuse to create sandboxes when the BPF gatekeeper cannot load'),
    metering: section({ extra_hosts: z.array(hostname).default([]).describe('Extra hosts metered as AI providers') }, 'Metering'),
    pricing: section(
      {
        overrides: z.array(ModelPriceSchema).default([]).describe('Per-model prices (USD per MTok) that win over the table'),
        fallback: z
          .object({ input: z.number().nonnegative().default(15), output: z.number().nonnegative().default(75) })
          .strict()
          .prefault({})
          .describe('Prices for models in neither table nor overrides'),
      },
      'Pricing (SPEC §6.2)',
    ),
    scheduler: section({ missed_fire_grace: duration('scheduler.missed_fire_grace').default('15m') }, 'Scheduler'),
    init_timeout: duration('init_timeout').default('30m').describe('Longest a sandbox may spend running init commands'),
    doctor_stale_ami_days: z.number().int().min(1).default(30).describe('Images older than this are reported by km doctor'),
    mail: section(
      {
        transport: z.enum(['local', 'smtp', 'ses']).default('local'),
        allow_external: z.boolean().default(false).describe('Let sandboxes mail non-sandbox addresses'),
        smtp: z
          .object({
            host: hostname,
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false),
            username: nonEmpty.optional(),
            password: nonEmpty.optional(),
            from: email.optional(),
          })
          .strict()
          .optional(),
      },
      'Mail transport (SPEC §12.5)',
    ),
    audit: section({ redact_literals: z.array(nonEmpty).default([]).describe('Literal strings redacted from every event') }, 'Audit'),
    notifiers: section(
      {
        email: z.object({ to: z.array(email).min(1) }).strict().optional(),
        slack: z.object({ channel: nonEmpty }).strict().optional(),
        webhook: z.object({ url: z.url({ protocol: /^https?$/ }), secret: nonEmpty.optional() }).strict().optional(),
      },
      'Notification channels',
    ),
    store: section(
      {
        kind: z.enum(['sqlite', 'dynamodb']).default('sqlite'),
        path: nonEmpty.optional().describe('SQLite file (default $KM_HOME/km.db)'),
      },
      'Where durable state lives',
    ),
    accounts: section(
      { management: digits('accounts.management', 12).optional(), terraform: digits('accounts.terraform', 12).optional(), application: digits('accounts.application', 12).optional(), organization: digits('accounts.organization', 12).optional() },
      'AWS account ids',
    ),
    aws_profiles: section(
      {
        management: nonEmpty.default('klanker-management'),
        terraform: nonEmpty.default('klanker-terraform'),
        application: nonEmpty.default('klanker-application'),
      },
      'AWS CLI profiles per account',
    ),
    sso: section({ start_url: z.url().optional(), region: z.string().optional() }, 'AWS IAM Identity Center'),
    artifacts_bucket: bucket.optional(),
    state_bucket: bucket.optional(),
    github_app_id: digits('github_app_id').optional(),
    github_installation_id: digits('github_installation_id').optional(),
    github_private_key_file: nonEmpty.optional(),
    slack: section(
      {
        bot_token: nonEmpty.optional(),
        app_token: nonEmpty.optional(),
        signing_secret: nonEmpty.optional(),
        default_channel: nonEmpty.optional(),
      },
      'Slack app (SPEC §16)',
    ),
  })
  .strict();

export type OperatorConfig = z.output<typeof OperatorConfigSchema>;
export type OperatorConfigInput = z.input<typeof OperatorConfigSchema>;

/** Dotted paths of values that are secrets (masked by `maskSecrets`). */
export const SECRET_PATHS: readonly string[] = [
  'mail.smtp.password',
  'notifiers.webhook.secret',
  'slack.bot_token',
  'slack.app_token',
  'slack.signing_secret',
  'audit.redact_literals',
];

/** The keys `km configure` asks for, in order (SPEC §14.2). */
export const PROMPTED_KEYS: readonly string[] = [
  'resource_prefix',
  'email_subdomain',
  'default_substrate',
  'max_sandboxes',
  'timezone',
  'domain',
  'operator_email',
  'region',
];

/** JSON Schema of the config file (input side: what an operator may write). */
export function operatorConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(OperatorConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}
