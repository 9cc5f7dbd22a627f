import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createManualClock } from '../../core/clock.ts';
import { BACKDATE_MS, CA_VALIDITY_MS, createSandboxCa, EC_ALG, randomSerial, SIGN_ALG } from './ca.ts';
import { directoryString, time, uint } from './der.ts';

const T0 = Date.parse('2027-03-01T00:00:00Z');

/** The CA as an X.509 library makes it (how km made it before it wrote the DER itself). */
async function referenceCa(id: string): Promise<x509.X509Certificate> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=km sandbox ${id}`,
    notBefore: new Date(T0 - BACKDATE_MS),
    notAfter: new Date(T0 + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

const hex = (b: ArrayBuffer): string => Buffer.from(b).toString('hex');
const point = (c: x509.X509Certificate): Buffer => Buffer.from(c.publicKey.rawData).subarray(-65);

test('the CA has the same fields, encodings and extensions as the X.509 library made', async () => {
  const id = 'sb-5e0c9a12';
  const ours = new x509.X509Certificate((await createSandboxCa(id, createManualClock(T0))).certPem);
  const ref = await referenceCa(id);
  assert.equal(hex(ours.subjectName.toArrayBuffer()), hex(ref.subjectName.toArrayBuffer()), 'subject bytes (PrintableString)');
  assert.equal(hex(ours.issuerName.toArrayBuffer()), hex(ref.issuerName.toArrayBuffer()));
  assert.deepEqual([ours.notBefore.getTime(), ours.notAfter.getTime()], [ref.notBefore.getTime(), ref.notAfter.getTime()]);
  assert.deepEqual(ours.signatureAlgorithm, ref.signatureAlgorithm);
  assert.equal(ours.publicKey.algorithm.name, ref.publicKey.algorithm.name);
  const exts = (c: x509.X509Certificate) => c.extensions.map((e) => [e.type, e.critical, e.type === '2.5.29.14' ? 'ski' : hex(e.value)]);
  assert.deepEqual(exts(ours), exts(ref));
  for (const c of [ours, ref]) {
    const ski = c.extensions.find((e) => e.type === '2.5.29.14') as x509.SubjectKeyIdentifierExtension;
    assert.equal(ski.keyId, createHash('sha1').update(point(c)).digest('hex'), 'SKI = SHA-1 of the public point');
  }
  // version v3 and a positive 16-byte serial, read from the DER the way openssl prints it
  const node = new X509Certificate(Buffer.from(ours.rawData));
  assert.equal(node.serialNumber.length, 32);
  assert.ok(Number.parseInt(node.serialNumber.slice(0, 2), 16) < 0x80);
  assert.ok(node.verify(node.publicKey), 'self-signed signature verifies');
});

test('DER helpers: minimal positive integers, string and time types', () => {
  assert.equal(uint(Buffer.from([0x00, 0x00, 0x7f])).toString('hex'), '02017f');
  assert.equal(uint(Buffer.from([0x80])).toString('hex'), '02020080');
  assert.equal(uint(Buffer.from([0x00])).toString('hex'), '020100');
  assert.equal(directoryString('km sandbox sb-1')[0], 0x13);
  assert.equal(directoryString('km sandbox sb_1')[0], 0x0c, 'underscore is not printable: UTF8String');
  assert.equal(time(new Date('2049-12-31T23:59:59.900Z')).toString('latin1'), '\x17\x0d491231235959Z');
  assert.equal(time(new Date('2050-01-01T00:00:00Z')).toString('latin1'), '\x18\x0f20500101000000Z');
});
