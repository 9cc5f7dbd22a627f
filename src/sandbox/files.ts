/**
 * Where a sandbox's host-side files live: the substrate's state dir
 * (`$KM_HOME/sandboxes/<id>`, owned by the tree's host uid under a root kmd), the CA key,
 * certificate and gateway settings in kmd's own `$KM_HOME/keys/<id>` (dir 0700, files 0600,
 * never mounted into the sandbox), and the gateway's socket dir (`$KM_HOME/gateways/<id>`,
 * bind-mounted at /run/km inside).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayUpstreamConfig } from '../gateway/index.ts';

export interface SandboxPaths {
  stateDir: string;
  keysDir: string;
  caCert: string;
  caKey: string;
  /** Certificates of earlier CAs, still trusted inside the sandbox until they expire (SPEC §5). */
  caPrevious: string;
  /** Host side of the sandbox's `/run/km-ca` (the substrate binds it read-only). */
  trustDir: string;
  gatewayConfig: string;
  gatewayDir: string;
}

export function sandboxPaths(kmHome: string, id: string): SandboxPaths {
  const keysDir = join(kmHome, 'keys', id);
  return {
    stateDir: join(kmHome, 'sandboxes', id),
    keysDir,
    caCert: join(keysDir, 'ca.pem'),
    caKey: join(keysDir, 'ca.key'),
    caPrevious: join(keysDir, 'ca.previous.pem'),
    trustDir: join(kmHome, 'sandboxes', id, 'ca'),
    gatewayConfig: join(keysDir, 'gateway.json'),
    gatewayDir: join(kmHome, 'gateways', id),
  };
}

/** What kmd needs to reopen a sandbox's gateway after a restart (fixed at create). */
export interface StoredGatewaySettings {
  upstream: GatewayUpstreamConfig;
  extraMeteringHosts: string[];
}

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export function writeSandboxFiles(p: SandboxPaths, ca: { certPem: string; keyPem: string }, gw: StoredGatewaySettings): void {
  mkdirSync(p.keysDir, { recursive: true, mode: 0o700 });
  chmodSync(p.keysDir, 0o700);
  writePrivate(p.caKey, ca.keyPem);
  writePrivate(p.caCert, ca.certPem);
  writePrivate(p.gatewayConfig, JSON.stringify(gw));
}

export function readSandboxCa(p: SandboxPaths): { certPem: string; keyPem: string } | undefined {
  // A renewal interrupted between its two renames: the key is in place, finish the certificate.
  if (existsSync(`${p.caCert}.next`) && !existsSync(`${p.caKey}.next`)) renameSync(`${p.caCert}.next`, p.caCert);
  if (!existsSync(p.caKey) || !existsSync(p.caCert)) return undefined;
  return { certPem: readFileSync(p.caCert, 'utf8'), keyPem: readFileSync(p.caKey, 'utf8') };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** Splits a PEM file into its certificates (each ending in a newline). */
export function splitPemCerts(text: string): string[] {
  return (text.match(PEM_CERT) ?? []).map((c) => (c.endsWith('\n') ? c : `${c}\n`));
}

export function writePreviousCaCerts(p: SandboxPaths, certs: readonly string[]): void {
  writePrivate(p.caPrevious, certs.join(''));
}

export function readPreviousCaCerts(p: SandboxPaths): string[] {
  return existsSync(p.caPrevious) ? splitPemCerts(readFileSync(p.caPrevious, 'utf8')) : [];
}

/**
 * Makes `ca` the signing CA and keeps `previous` trusted: the older certificates first (so a
 * crash never leaves them untrusted), then the new key and certificate.
 */
export function writeRenewedCa(p: SandboxPaths, ca: { certPem: string; keyPem: string }, previous: readonly string[]): void {
  writePreviousCaCerts(p, previous);
  writePrivate(`${p.caKey}.next`, ca.keyPem);
  writePrivate(`${p.caCert}.next`, ca.certPem);
  renameSync(`${p.caKey}.next`, p.caKey);
  renameSync(`${p.caCert}.next`, p.caCert);
}

export function readGatewaySettings(p: SandboxPaths): StoredGatewaySettings | undefined {
  try {
    return JSON.parse(readFileSync(p.gatewayConfig, 'utf8')) as StoredGatewaySettings;
  } catch {
    return undefined;
  }
}

/** Removes the CA key and gateway settings (destroy; the substrate removes the rest). */
export function removeSandboxFiles(p: SandboxPaths): void {
  rmSync(p.keysDir, { recursive: true, force: true });
  rmSync(p.gatewayDir, { recursive: true, force: true });
}
