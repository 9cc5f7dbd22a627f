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
  /** Redact only when the secret passes (shapes a regular expression cannot tell apart). */
  accept?: (secret: string) => boolean;
}

/** `Basic` credentials: base64 of `user:password` (not a word that follows "Basic" in prose). */
function isBasicCredential(b64: string): boolean {
  if (b64.length % 4 === 1) return false;
  const text = Buffer.from(b64, 'base64').toString('latin1');
  return text.includes(':') && /^[\x20-\x7e]+$/.test(text);
}

// Order matters: specific token shapes first, generic ones (hex, key=value) last.
const RULES: readonly Rule[] = [
  { kind: 'private_key', re: /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g },
  { kind: 'aws_access_key_id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { kind: 'aws_secret_access_key', re: /(\baws_?secret_?access_?key\b["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{20,})/gi, group: 2 },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { kind: 'bearer_token', re: /(\bBearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi, group: 2 },
  { kind: 'basic_auth', re: /(\bBasic\s+)([A-Za-z0-9+/]{6,}={0,2})/gi, group: 2, accept: isBasicCredential },
  { kind: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g },
  { kind: 'gitlab_token', re: /\bgl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,}/g },
  { kind: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{10,}/g },
  { kind: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g },
  { kind: 'slack_token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'stripe_key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { kind: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}/g },
  { kind: 'npm_token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'huggingface_token', re: /\bhf_[A-Za-z0-9]{30,}\b/g },
  { kind: 'hex_secret', re: /\b[0-9a-fA-F]{40,}\b/g },
  // The password of a URL's userinfo (`scheme://user:password@host`); the user is kept.
  { kind: 'url_password', re: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]+)(?=@)/gi, group: 2 },
  {
    kind: 'secret_assignment',
    re: /(\b[A-Za-z0-9_.-]*(?:token|secret|password|passwd|passphrase|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)([^\s"'&,;]+)/gi,
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
        if (rule.accept && !rule.accept(secret)) return whole;
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
