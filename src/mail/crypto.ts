/**
 * Mail cryptography (SPEC §12.1–12.2): Ed25519 signatures over a canonical text, and NaCl
 * sealed boxes (crypto_box_seal: X25519 + XSalsa20-Poly1305 with an ephemeral sender key,
 * nonce = BLAKE2b-192(ephemeral_pk ‖ recipient_pk)) — wire-compatible with libsodium.
 * Public keys travel as base64 of the raw 32 bytes.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';

export interface IdentityKeys {
  signingPublicKey: string;
  /** PKCS#8 PEM; stays with kmd, never inside a sandbox. */
  signingPrivateKeyPem: string;
  encryptionPublicKey: string;
  encryptionSecretKey: string;
}

export function generateIdentityKeys(): IdentityKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // X25519 from node:crypto (native; tweetnacl's pure-JS keypair costs ~10 ms): the raw
  // secret and public keys are exactly nacl.box's (same curve, same clamping).
  const box = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
  return {
    signingPublicKey: rawEd25519(publicKey).toString('base64'),
    signingPrivateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    encryptionPublicKey: Buffer.from(box.x as string, 'base64url').toString('base64'),
    encryptionSecretKey: Buffer.from(box.d as string, 'base64url').toString('base64'),
  };
}

function rawEd25519(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

function ed25519PublicFromRaw(b64: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(b64, 'base64').toString('base64url') }, format: 'jwk' });
}

export interface SignedFields {
  senderId: string;
  recipients: readonly string[];
  subject: string;
  attachments: ReadonlyArray<{ filename: string; sha256: string }>;
  /** The body as sent (for encrypted mail: the ciphertext text). */
  body: string;
}

/** The exact text a signature covers. */
export function canonicalText(f: SignedFields): string {
  const recipients = [...new Set(f.recipients.map((r) => r.trim().toLowerCase()))].sort().join(',');
  const body = f.body.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const lines = ['km-mail-sig/1', f.senderId, recipients, f.subject.replace(/[\r\n]+/g, ' '), ...f.attachments.map((a) => `${a.sha256} ${a.filename}`), body];
  return lines.join('\n');
}

export function signMail(privateKeyPem: string, fields: SignedFields): string {
  return edSign(null, Buffer.from(canonicalText(fields), 'utf8'), createPrivateKey(privateKeyPem)).toString('base64');
}

export function verifyMail(signingPublicKey: string, signature: string, fields: SignedFields): boolean {
  try {
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    return edVerify(null, Buffer.from(canonicalText(fields), 'utf8'), ed25519PublicFromRaw(signingPublicKey), sig);
  } catch {
    return false;
  }
}

const sealNonce = (epk: Uint8Array, rpk: Uint8Array): Uint8Array => blake2b(Buffer.concat([epk, rpk]), { dkLen: 24 });

/** crypto_box_seal: anonymous encryption to `recipientPublicKey` (base64, 32 bytes). */
export function sealTo(recipientPublicKey: string, plaintext: Uint8Array): Buffer {
  const rpk = Buffer.from(recipientPublicKey, 'base64');
  if (rpk.length !== 32) throw new Error('encryption public key must be 32 bytes');
  const eph = nacl.box.keyPair();
  const box = nacl.box(plaintext, sealNonce(eph.publicKey, rpk), rpk, eph.secretKey);
  eph.secretKey.fill(0);
  return Buffer.concat([eph.publicKey, box]);
}

/** crypto_box_seal_open; undefined when the box was not for this key or was tampered with. */
export function openSealed(publicKey: string, secretKey: string, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < 32 + nacl.box.overheadLength) return undefined;
  const pk = Buffer.from(publicKey, 'base64');
  const epk = sealed.subarray(0, 32);
  const out = nacl.box.open(sealed.subarray(32), sealNonce(epk, pk), epk, Buffer.from(secretKey, 'base64'));
  return out ? Buffer.from(out) : undefined;
}
