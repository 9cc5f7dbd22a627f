/** Mail addresses of identities (SPEC §12.1): `{id}@{email_subdomain}.{domain}`. */

export interface AddressConfig {
  /** Operator config `email_subdomain` (default `sandboxes`). */
  emailSubdomain?: string;
  /** Operator config `domain`; without it the domain part is `<subdomain>.km.internal`. */
  domain?: string | undefined;
}

/** The domain part of sandbox addresses, e.g. `sandboxes.km.internal`. */
export const mailDomain = (c: AddressConfig): string => `${c.emailSubdomain ?? 'sandboxes'}.${c.domain ?? 'km.internal'}`;

export const identityAddress = (id: string, c: AddressConfig): string => `${id}@${mailDomain(c)}`;

/** The operator's address: `operator_email` when configured, else `operator@<mail domain>`. */
export const operatorAddress = (c: AddressConfig & { operatorEmail?: string | undefined }): string => c.operatorEmail ?? identityAddress('operator', c);
