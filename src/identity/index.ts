/** Mail identities (SPEC §12.1): addresses, host-side keys, provisioning, rendering. */
export { identityAddress, mailDomain, operatorAddress, type AddressConfig } from './address.ts';
export { KEYS_FILE, hasIdentityKeys, identityKeysDir, loadOrCreateIdentityKeys, readIdentityKeys, removeIdentityKeys, writeIdentityKeys } from './keys.ts';
export { ensureOperatorIdentity, mailPolicyOf, provisionIdentity, removeIdentity, type ProvisionInput } from './provision.ts';
export { identityJson, renderIdentity, renderIdentityList, type IdentityJson } from './render.ts';
