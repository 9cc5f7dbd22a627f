/**
 * Secret redaction (SPEC §13.2), applied before anything is stored or exported: to every
 * string inside an event's `detail`, recursively through maps and lists. The envelope fields
 * `sandbox_id`, `event_type`, `timestamp` and `source` are never altered.
 * Matches are replaced by `[REDACTED:<kind>]`.
 */

interface Rule {
  kind: string;
  re: RegExp;
  /** Index of the capture group holding the secret; the rest of the match is kept. */
  group?: number;
}

// Order matters: specific token shapes first, generic ones (hex, key=value) last.
const RULES: readonly Rule[] = [
  { kind: 'private_key', re: /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g },
  { kind: 'aws_access_key_id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { kind: 'aws_secret_access_key', re: /(\baws_?secret_?access_?key\b["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{20,})/gi, group: 2 },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { kind: 'bearer_token', re: /(\bBearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi, group: 2 },
  { kind: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g },
  { kind: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{10,}/g },
  { kind: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g },
  { kind: 'hex_secret', re: /\b[0-9a-fA-F]{40,}\b/g },
  {
    kind: 'secret_assignment',
    re: /(\b[A-Za-z0-9_.-]*(?:token|secret|password|passwd|api_?key)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)([^\s"'&,;]+)/gi,
    group: 2,
  },
];

export interface Redactor {
  redactString(s: string): string;
  /** Deep copy of `value` with every string redacted. */
  redactValue<T>(value: T): T;
  /** Redacts an event's detail; envelope fields pass through untouched. */
  redactEvent<E extends { detail?: unknown }>(event: E): E;
}

export interface RedactorOptions {
  /** Operator literals (`audit.redact_literals`) and every secret km itself injects. */
  literals?: readonly string[];
}

const ALREADY = /\[REDACTED:[a-z_]+\]/;

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const literals = [...new Set((options.literals ?? []).filter((l) => l.length >= 4))].sort((a, b) => b.length - a.length);
  const redactString = (input: string): string => {
    let s = input;
    for (const lit of literals) if (s.includes(lit)) s = s.split(lit).join('[REDACTED:literal]');
    for (const rule of RULES) {
      s = s.replace(rule.re, (...m: unknown[]) => {
        const whole = m[0] as string;
        if (rule.group === undefined) return `[REDACTED:${rule.kind}]`;
        const secret = m[rule.group] as string | undefined;
        if (secret === undefined || ALREADY.test(secret) || secret.startsWith('[REDACTED')) return whole;
        const prefix = (m.slice(1, rule.group) as string[]).join('');
        return `${prefix}[REDACTED:${rule.kind}]`;
      });
    }
    return s;
  };
  const redactValue = <T>(value: T): T => {
    if (typeof value === 'string') return redactString(value) as T;
    if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
    if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = redactValue(v);
      return out as T;
    }
    return value;
  };
  return {
    redactString,
    redactValue,
    redactEvent: (event) => (event.detail === undefined ? event : { ...event, detail: redactValue(event.detail) }),
  };
}
