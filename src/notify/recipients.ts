/**
 * Who gets a sandbox's email notices (SPEC §4 `cli.notifyEmailEnabled`,
 * `cli.notificationEmailAddress`, §15 `notifiers.email.to`, `operator_email`).
 */

export interface EmailDefaults {
  /** `notifiers.email.to`; when empty, `operator_email` is used. */
  notifiersTo?: readonly string[] | undefined;
  operatorEmail?: string | undefined;
}

export type EmailRoute = { send: true; to: string[] } | { send: false; reason: 'disabled_by_profile' | 'no_recipient' };

interface CliNotify {
  notifyEmailEnabled?: unknown;
  notificationEmailAddress?: unknown;
}

/** The profile's `spec.cli` as stored with the sandbox (the store keeps the profile opaque). */
function cliOf(profile: unknown): CliNotify {
  const cli = (profile as { spec?: { cli?: unknown } } | null | undefined)?.spec?.cli;
  return cli && typeof cli === 'object' ? (cli as CliNotify) : {};
}

/**
 * `notifyEmailEnabled: false` suppresses; `notificationEmailAddress` replaces the operator
 * addresses for this sandbox; otherwise `notifiers.email.to`, else `operator_email`.
 * A sandbox no longer in the store is routed to the operator addresses.
 */
export function emailRoute(profile: unknown, defaults: EmailDefaults): EmailRoute {
  const cli = cliOf(profile);
  if (cli.notifyEmailEnabled === false) return { send: false, reason: 'disabled_by_profile' };
  if (typeof cli.notificationEmailAddress === 'string' && cli.notificationEmailAddress !== '') return { send: true, to: [cli.notificationEmailAddress.toLowerCase()] };
  const to = defaults.notifiersTo?.length ? [...defaults.notifiersTo] : defaults.operatorEmail ? [defaults.operatorEmail] : [];
  const unique = [...new Set(to.map((a) => a.toLowerCase()))];
  return unique.length ? { send: true, to: unique } : { send: false, reason: 'no_recipient' };
}
