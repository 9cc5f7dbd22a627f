/**
 * Leaf certificates for intercepted hosts (SPEC §5): ECDSA P-256, SAN = the host (DNS or IP),
 * valid 7 days but never beyond the CA, random serial, one leaf key per sandbox, cached per
 * host (LRU). Concurrent requests for one host share a single mint.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import type { Clock } from '../../core/clock.ts';
import {
  BACKDATE_MS,
  EC_ALG,
  SIGN_ALG,
  exportKeyPem,
  importSigningKey,
  randomSerial,
  type SandboxCa,
} from './ca.ts';

const LEAF_VALIDITY_MS = 7 * 86_400_000;
/** A cached leaf is replaced when less than this remains. */
const LEAF_REFRESH_MS = 86_400_000;

export interface LeafCacheOptions {
  max?: number;
  clock: Clock;
}

export interface LeafCache {
  /** TLS server context presenting a leaf for `host` signed by the sandbox CA. */
  getSecureContext(host: string): Promise<SecureContext>;
  /** The leaf certificate PEM for `host` (minted if needed). */
  getLeafPem(host: string): Promise<string>;
  stats(): { size: number; mints: number };
  /**
   * Signs new leaves with `ca` from now on (CA renewal, SPEC §5). Leaves already cached chain
   * to the older CA, which stays trusted until it expires; they are replaced as they age.
   */
  setCa(ca: SandboxCa): void;
}

interface Entry {
  certPem: string;
  context: SecureContext;
  notAfterMs: number;
}

interface Signer {
  caKey: CryptoKey;
  caCert: x509.X509Certificate;
  leafKeys: CryptoKeyPair;
  leafKeyPem: string;
}

async function makeSigner(ca: SandboxCa): Promise<Signer> {
  const leafKeys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  return {
    caKey: await importSigningKey(ca.keyPem),
    caCert: new x509.X509Certificate(ca.certPem),
    leafKeys,
    leafKeyPem: await exportKeyPem(leafKeys.privateKey),
  };
}

async function mintLeaf(s: Signer, ca: SandboxCa, host: string, nowMs: number): Promise<Entry> {
  const notAfterMs = Math.min(nowMs + LEAF_VALIDITY_MS, ca.notAfter.getTime());
  const san = isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host };
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${host.replace(/[,+="\\<>;#]/g, '_')}`,
    issuer: s.caCert.subject,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(notAfterMs),
    publicKey: s.leafKeys.publicKey,
    signingKey: s.caKey,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([san]),
      await x509.AuthorityKeyIdentifierExtension.create(s.caCert.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return { certPem, notAfterMs, context: createSecureContext({ key: s.leafKeyPem, cert: certPem }) };
}

export function createLeafCache(initialCa: SandboxCa, options: LeafCacheOptions): LeafCache {
  let ca = initialCa;
  const max = options.max ?? 1000;
  const cache = new Map<string, Entry>(); // insertion order = LRU order
  const pending = new Map<string, Promise<Entry>>();
  let signer: Promise<Signer> | null = null;
  let mints = 0;

  const fresh = (e: Entry): boolean => e.notAfterMs - options.clock.now() > LEAF_REFRESH_MS || e.notAfterMs === ca.notAfter.getTime();

  async function get(host: string): Promise<Entry> {
    const key = host.toLowerCase();
    const hit = cache.get(key);
    if (hit && fresh(hit) && hit.notAfterMs > options.clock.now()) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const inflight = pending.get(key);
    if (inflight) return inflight;
    signer ??= makeSigner(ca);
    const signingCa = ca;
    const p = signer
      .then((s) => mintLeaf(s, signingCa, key, options.clock.now()))
      .then((e) => {
        mints++;
        cache.delete(key);
        cache.set(key, e);
        while (cache.size > max) cache.delete(cache.keys().next().value as string);
        return e;
      })
      .finally(() => pending.delete(key));
    pending.set(key, p);
    return p;
  }

  return {
    getSecureContext: async (host) => (await get(host)).context,
    getLeafPem: async (host) => (await get(host)).certPem,
    stats: () => ({ size: cache.size, mints }),
    setCa(next) {
      if (next.fingerprintSha256 === ca.fingerprintSha256) return;
      ca = next;
      signer = null;
    },
  };
}
