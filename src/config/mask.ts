/** Secrets hidden for display (`km info`): present values become `********`. */
import { SECRET_PATHS, type OperatorConfig } from './schema.ts';

export const MASK = '********';

/** A copy of the config with secret values masked and credentials removed from proxy URLs. */
export function maskSecrets(config: OperatorConfig): OperatorConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const dotted of SECRET_PATHS) {
    const path = dotted.split('.');
    let cur: unknown = copy;
    for (const seg of path.slice(0, -1)) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    const last = path[path.length - 1] as string;
    if (cur === null || typeof cur !== 'object') continue;
    const holder = cur as Record<string, unknown>;
    const v = holder[last];
    if (v === undefined) continue;
    holder[last] = Array.isArray(v) ? v.map(() => MASK) : MASK;
  }
  const masked = copy as unknown as OperatorConfig;
  if (masked.gateway.upstream_proxy !== undefined) masked.gateway.upstream_proxy = maskUrlPassword(masked.gateway.upstream_proxy);
  // Webhook URLs (Slack incoming webhooks and similar) carry their secret in the path.
  if (masked.notifiers.webhook !== undefined) masked.notifiers.webhook.url = maskUrlPath(masked.notifiers.webhook.url);
  return masked;
}

function maskUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '' && u.username === '') return url;
    if (u.password !== '') u.password = MASK;
    return u.toString();
  } catch {
    return MASK;
  }
}

function maskUrlPath(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && u.search === '' && u.username === '' ? url : `${u.protocol}//${u.host}/${MASK}`;
  } catch {
    return MASK;
  }
}
