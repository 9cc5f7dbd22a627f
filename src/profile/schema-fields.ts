/**
 * Reusable field schemas for the profile: durations, absolute paths, egress entries,
 * repo and ref patterns, environment keys. Each carries the exact error message of
 * SPEC §0.3/§1.4; the JSON Schema gets the regex patterns (refinements are checked by
 * the validator only).
 */
import { z } from 'zod';
import { DURATION_HINT, tryParseDuration } from '../core/duration.ts';
import { checkPathRule, checkRefPattern, checkRepoPattern, parseEgressEntry, type EgressList } from './egress.ts';

const DURATION_RE = /^(?=\d)(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/;
const DURATION_OR_ZERO_RE = /^(?:0|(?=\d)(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?)$/;

const durationMessage = (input: unknown): string =>
  typeof input === 'string'
    ? `invalid duration ${JSON.stringify(input)}: ${DURATION_HINT}`
    : `expected a duration string such as "8h"${typeof input === 'number' ? ` (quote it: "${input}")` : ''}, got ${describeValue(input)}`;

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** A duration; `allowZero` admits "0" (TTL, idle timeout). */
export function duration(allowZero: boolean) {
  return z
    .string({ error: (iss) => durationMessage(iss.input) })
    .regex(allowZero ? DURATION_OR_ZERO_RE : DURATION_RE, {
      error: (iss) => (iss.input === '0' ? `invalid duration "0": 0 is not allowed here` : durationMessage(iss.input)),
    })
    .superRefine((text, ctx) => {
      if (!(allowZero ? DURATION_OR_ZERO_RE : DURATION_RE).test(text)) return;
      const r = tryParseDuration(text, { allowZero });
      if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
    });
}

/** Absolute path without `..` segments. */
export const absPath = () =>
  z
    .string()
    .regex(/^\//, { error: (iss) => `${JSON.stringify(iss.input)} is not an absolute path; start it with "/"` })
    .superRefine((p, ctx) => {
      if (p.startsWith('/') && p.split('/').includes('..')) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(p)} contains ".."; write the path without parent segments` });
      }
      if (p.includes('\0')) ctx.addIssue({ code: 'custom', message: 'path contains a NUL character' });
    });

/** An `allowedHosts` / `allowedDNSSuffixes` entry. */
export const egressEntry = (list: EgressList) =>
  z.string().superRefine((entry, ctx) => {
    const r = parseEgressEntry(entry, list);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
  });

const checked = (check: (s: string) => string | undefined) =>
  z.string().superRefine((s, ctx) => {
    const message = check(s);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });

export const repoPattern = () => checked(checkRepoPattern);
export const refPattern = () => checked(checkRefPattern);
export const pathRuleEntry = () => checked(checkPathRule);

/** CA variables of SPEC §5 and the proxy/OTEL variables km sets itself (SPEC §9.4). */
const RESERVED_ENV = new Set([
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'AWS_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'CODEX_CA_CERTIFICATE',
  'NODE_EXTRA_CA_CERTS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
]);
const PROXY_VARS = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY']);

export function reservedEnvReason(key: string): string | undefined {
  if (key.startsWith('KM_')) return `${key} is reserved: km sets KM_* variables itself`;
  if (PROXY_VARS.has(key.toUpperCase())) return `${key} is reserved: km points the proxy variables at the sandbox gateway`;
  if (RESERVED_ENV.has(key)) return `${key} is reserved: km sets it for the sandbox's CA and telemetry`;
  return undefined;
}

export const envKey = () =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a valid variable name; use letters, digits and "_", not starting with a digit`,
    })
    .superRefine((key, ctx) => {
      const reason = reservedEnvReason(key);
      if (reason !== undefined) ctx.addIssue({ code: 'custom', message: `${reason}; remove it from execution.env` });
    });

export const REGION_RE = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
export const region = () =>
  z.string().regex(REGION_RE, { error: (iss) => `${JSON.stringify(iss.input)} is not an AWS region name (such as us-east-1)` });

/** A strict boolean with a clear message for "true"-style strings. */
export const bool = () =>
  z.boolean({
    error: (iss) =>
      typeof iss.input === 'string' && /^(true|false|yes|no|on|off)$/i.test(iss.input)
        ? `expected true or false, got the string ${JSON.stringify(iss.input)}; remove the quotes`
        : `expected true or false, got ${describeValue(iss.input)}`,
  });
