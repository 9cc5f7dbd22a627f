/**
 * The one denial envelope (SPEC §3.4): HTTP 403 (or 502/504 for upstream problems),
 * `Content-Type: application/json`, `X-Km-Deny-Reason` and `X-Km-Rule` headers, and a JSON
 * body naming the error, the rule and a hint. Every component that refuses a request
 * (proxy, GitHub guard, budget check) builds its answer here.
 */
export type DenyError =
  | 'host_not_allowed'
  | 'port_not_allowed'
  | 'ip_literal_not_allowed'
  | 'destination_not_allowed'
  | 'https_required'
  | 'host_mismatch'
  | 'no_sni'
  | 'path_not_allowed'
  | 'repo_not_allowed'
  | 'ref_not_allowed'
  | 'ai_budget_exhausted'
  | 'upstream_unreachable'
  | 'upstream_tls_error'
  | 'upstream_timeout'
  | 'bad_request';

export interface DenyInput {
  error: DenyError;
  host: string | null;
  port: number | null;
  rule: string;
  sandbox: string;
  hint?: string;
  /** Extra fields merged into the body (e.g. repo, spent_usd, limit_usd, top_up, message). */
  extra?: Record<string, unknown>;
}

export interface DenyResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const STATUS: Partial<Record<DenyError, number>> = {
  upstream_unreachable: 502,
  upstream_tls_error: 502,
  upstream_timeout: 504,
  bad_request: 400,
};

export function denyResponse(input: DenyInput): DenyResponse {
  const body: Record<string, unknown> = {
    error: input.error,
    host: input.host,
    port: input.port,
    rule: input.rule,
    sandbox: input.sandbox,
    ...(input.extra ?? {}),
  };
  if (input.hint !== undefined) body.hint = input.hint;
  const text = Buffer.from(JSON.stringify(body) + '\n');
  return {
    status: STATUS[input.error] ?? 403,
    headers: {
      'content-type': 'application/json',
      'content-length': String(text.length),
      'x-km-deny-reason': input.error,
      'x-km-rule': input.rule,
      'cache-control': 'no-store',
      connection: 'close',
    },
    body: text,
  };
}

/** The hint for a host that no rule allows (SPEC §3.4 example). */
export function hostNotAllowedHint(sandbox: string, host: string): string {
  const parts = host.split('.');
  const parent = parts.length > 2 ? `.${parts.slice(1).join('.')}` : `.${host}`;
  return (
    `add "${host}" to spec.network.egress.allowedHosts or "${parent}" to allowedDNSSuffixes in a new profile; ` +
    `check with: km policy explain ${sandbox} ${host}`
  );
}
