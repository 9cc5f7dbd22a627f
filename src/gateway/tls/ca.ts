/**
 * The per-sandbox interception CA (SPEC §5): ECDSA P-256, `CN=km sandbox <id>`,
 * basicConstraints CA:TRUE pathlen:0 (critical), keyUsage keyCertSign + cRLSign, valid 90 days.
 * The private key is returned as PKCS#8 PEM for the caller to store (mode 0600); it never
 * enters the sandbox.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import * as der from './der.ts';

type CryptoKey = webcrypto.CryptoKey;
import type { Clock } from '../../core/clock.ts';
import { KmError } from '../../core/errors.ts';

export interface SandboxCa {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, lowercase hex without separators. */
  fingerprintSha256: string;
  notAfter: Date;
}

const DAY_MS = 86_400_000;
export const CA_VALIDITY_MS = 90 * DAY_MS;
export const CA_RENEW_BEFORE_MS = 14 * DAY_MS;
/** Certificates start an hour in the past so clients with a slightly slow clock accept them. */
export const BACKDATE_MS = 3_600_000;

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function pemWithNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
}

export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and never zero-led
  return Buffer.from(bytes).toString('hex');
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
};

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  der.seq(der.oid(id), ...(critical ? [der.bool(true)] : []), der.octets(value));

/**
 * Built directly in DER and signed with node:crypto: the same certificate @peculiar/x509
 * produced (v3, PrintableString CN, UTCTime, SKI = SHA-1 of the public point), in a fraction
 * of a millisecond instead of several (it is on every create's path).
 */
export async function createSandboxCa(sandboxId: string, clock: Clock): Promise<SandboxCa> {
  const now = clock.now();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The subjectPublicKey BIT STRING of a P-256 SPKI is its last 65 bytes (04 || x || y).
  const point = spki.subarray(spki.length - 65);
  const name = der.seq(der.set(der.seq(der.oid(OID.commonName), der.directoryString(`km sandbox ${sandboxId}`))));
  const sigAlg = der.seq(der.oid(OID.ecdsaWithSha256));
  const tbs = der.seq(
    der.explicit(0, der.smallInt(2)),
    der.uint(Buffer.from(randomSerial(), 'hex')),
    sigAlg,
    name,
    der.seq(der.time(new Date(now - BACKDATE_MS)), der.time(new Date(now + CA_VALIDITY_MS))),
    name,
    spki,
    der.explicit(3, der.seq(
      extension(OID.basicConstraints, true, der.seq(der.bool(true), der.smallInt(0))),
      // keyCertSign (bit 5) | cRLSign (bit 6): 0b0000011 with one unused bit
      extension(OID.keyUsage, true, der.bits(Buffer.from([0x06]), 1)),
      extension(OID.subjectKeyIdentifier, false, der.octets(createHash('sha1').update(point).digest())),
    )),
  );
  const cert = der.seq(tbs, sigAlg, der.bits(sign('sha256', tbs, privateKey)));
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  const certPem = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  return loadSandboxCa(certPem, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
}

/** Parses a stored CA; refuses a certificate that is not a CA or a key that does not match it. */
export function loadSandboxCa(certPem: string, keyPem: string): SandboxCa {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.ca) throw new Error('certificate is not a CA (basicConstraints CA:FALSE)');
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('private key does not match the certificate');
  } catch (err) {
    throw new KmError('invalid_state', `sandbox CA is unusable: ${(err as Error).message}`, {
      hint: 'destroy and recreate the sandbox to mint a new CA',
      cause: err,
    });
  }
  return {
    certPem: pemWithNewline(certPem),
    keyPem: pemWithNewline(keyPem),
    fingerprintSha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notAfter: new Date(cert.validTo),
  };
}

export interface CaRenewalPlan {
  /** True when the newest CA has less than 14 days left (or none is valid): mint a new one. */
  renew: boolean;
  /** CAs still valid at `now`: all of them stay trusted inside the sandbox. */
  trusted: SandboxCa[];
  /** The CA that signs new leaves (the newest valid one), or null when none is valid. */
  signer: SandboxCa | null;
}

/** Pure renewal decision (SPEC §5): renew under 14 days left; old and new trusted until expiry. */
export function planCaRenewal(cas: readonly SandboxCa[], nowMs: number): CaRenewalPlan {
  const trusted = cas.filter((c) => c.notAfter.getTime() > nowMs);
  const signer = trusted.reduce<SandboxCa | null>(
    (best, c) => (best === null || c.notAfter.getTime() > best.notAfter.getTime() ? c : best),
    null,
  );
  const renew = signer === null || signer.notAfter.getTime() - nowMs < CA_RENEW_BEFORE_MS;
  return { renew, trusted, signer };
}
