export { createSandboxCa, loadSandboxCa, planCaRenewal, type SandboxCa, type CaRenewalPlan } from './ca.ts';
export { createLeafCache, type LeafCache, type LeafCacheOptions } from './leaf.ts';
export { parseClientHello, looksLikeTls, MAX_CLIENT_HELLO_BYTES, type ClientHelloResult } from './client-hello.ts';
