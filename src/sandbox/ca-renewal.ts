/**
 * Sandbox CA renewal (SPEC §5): when the signing CA has under 14 days left kmd mints a new
 * one, makes it the gateway's leaf signer, and keeps the old certificate trusted inside the
 * sandbox until it expires. Trust inside is the host-side `ca/` directory the local
 * substrate bind-mounts at `/run/km-ca`: `km-sandbox.crt` (NODE_EXTRA_CA_CERTS) and
 * `bundle.pem` (system roots + km CAs) are rewritten atomically, so processes started after
 * a renewal trust both CAs. Processes that read their trust once at start keep what they
 * read; leaves the gateway already cached (old CA) stay in use until they age out. A start
 * from stopped makes the substrate rewrite those files from the CA it was created with;
 * resume then restores them (`restoreTrustFiles`). The copy dropped into the sandbox's
 * system trust store at create (images with a writable /etc) is not updated here: that
 * needs a command run inside the sandbox.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { createSandboxCa, loadSandboxCa, planCaRenewal, type SandboxCa } from '../gateway/index.ts';
import type { SandboxRecord } from '../store/index.ts';
import type { EventRecorder } from './events.ts';
import { readPreviousCaCerts, readSandboxCa, sandboxPaths, splitPemCerts, writePreviousCaCerts, writeRenewedCa, type SandboxPaths } from './files.ts';

const DAY_MS = 86_400_000;
const RENEW_BEFORE_MS = 14 * DAY_MS;
/** Without a CA on disk, look again after this long. */
const RECHECK_MS = 3_600_000;

export interface CaRenewerDeps {
  kmHome: string;
  clock: Clock;
  /** The live gateway of a sandbox, when open. */
  gateway(id: string): { setCa(ca: SandboxCa): void } | undefined;
  events: Pick<EventRecorder, 'record'>;
}

export interface CaRenewal {
  sandboxId: string;
  action: 'renewed' | 'pruned';
  fingerprintSha256: string;
  notAfterMs: number;
  /** Whether the in-sandbox trust files were rewritten (false: no local trust dir). */
  trustUpdated: boolean;
}

export interface CaRenewer {
  /** Renews (or prunes expired older CAs) when due; cheap when nothing is due. */
  check(s: SandboxRecord): Promise<CaRenewal | undefined>;
  forget(id: string): void;
}

const colonHex = (hex: string): string => (hex.toUpperCase().match(/../g) ?? []).join(':');
const notAfterOf = (pem: string): number => Date.parse(new X509Certificate(pem).validTo);

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Rewrites the sandbox's trust files: the CA file holds exactly `trusted`; the bundle keeps
 * every certificate that is not one of this sandbox's CAs (the system roots) and appends `trusted`.
 */
export function writeTrustFiles(p: SandboxPaths, sandboxId: string, trusted: readonly string[]): boolean {
  const bundlePath = join(p.trustDir, 'bundle.pem');
  if (!existsSync(bundlePath)) return false;
  const subject = `CN=km sandbox ${sandboxId}`;
  const roots = splitPemCerts(readFileSync(bundlePath, 'utf8')).filter((pem) => {
    try {
      return new X509Certificate(pem).subject !== subject;
    } catch {
      return true;
    }
  });
  writeAtomic(join(p.trustDir, 'km-sandbox.crt'), trusted.join(''));
  writeAtomic(bundlePath, [...roots, ...trusted].join(''));
  return true;
}

/**
 * After a start from stopped the local substrate has rewritten the trust files from the CA it
 * was created with; once a renewal has happened, put the current and still-valid older CAs back.
 */
export function restoreTrustFiles(kmHome: string, id: string, nowMs: number): boolean {
  const p = sandboxPaths(kmHome, id);
  const previous = readPreviousCaCerts(p).filter((c) => notAfterOf(c) > nowMs);
  const current = readSandboxCa(p);
  if (!current || !existsSync(p.caPrevious)) return false;
  return writeTrustFiles(p, id, [current.certPem, ...previous]);
}

export function createCaRenewer(deps: CaRenewerDeps): CaRenewer {
  const nextCheck = new Map<string, number>();

  const renew = async (s: SandboxRecord, p: SandboxPaths, current: SandboxCa, previous: string[]): Promise<CaRenewal> => {
    const now = deps.clock.now();
    const fresh = await createSandboxCa(s.id, deps.clock);
    const keep = [current.certPem, ...previous.filter((c) => notAfterOf(c) > now)];
    writeRenewedCa(p, fresh, keep);
    const trustUpdated = writeTrustFiles(p, s.id, [fresh.certPem, ...keep]);
    deps.gateway(s.id)?.setCa(fresh);
    // Colon-separated (as openssl prints it): 64 hex digits in a row would be redacted as a secret.
    await deps.events.record(s.id, 'ca.renewed', 'kmd', {
      fingerprint_sha256: colonHex(fresh.fingerprintSha256),
      not_after: fresh.notAfter.toISOString(),
      previous_fingerprint_sha256: colonHex(current.fingerprintSha256),
      previous_not_after: current.notAfter.toISOString(),
      trust_updated: trustUpdated,
    });
    return { sandboxId: s.id, action: 'renewed', fingerprintSha256: fresh.fingerprintSha256, notAfterMs: fresh.notAfter.getTime(), trustUpdated };
  };

  return {
    async check(s) {
      const now = deps.clock.now();
      if (now < (nextCheck.get(s.id) ?? 0)) return undefined;
      const p = sandboxPaths(deps.kmHome, s.id);
      const files = readSandboxCa(p);
      if (!files) {
        nextCheck.set(s.id, now + RECHECK_MS);
        return undefined;
      }
      const current = loadSandboxCa(files.certPem, files.keyPem);
      const previous = readPreviousCaCerts(p);
      let result: CaRenewal | undefined;
      if (planCaRenewal([current], now).renew) result = await renew(s, p, current, previous);
      else if (previous.some((c) => notAfterOf(c) <= now)) {
        const keep = previous.filter((c) => notAfterOf(c) > now);
        writePreviousCaCerts(p, keep);
        const trustUpdated = writeTrustFiles(p, s.id, [current.certPem, ...keep]);
        result = { sandboxId: s.id, action: 'pruned', fingerprintSha256: current.fingerprintSha256, notAfterMs: current.notAfter.getTime(), trustUpdated };
      }
      const signer = result?.action === 'renewed' ? result.notAfterMs : current.notAfter.getTime();
      nextCheck.set(s.id, Math.min(signer - RENEW_BEFORE_MS, ...readPreviousCaCerts(p).map(notAfterOf)));
      return result;
    },
    forget: (id) => void nextCheck.delete(id),
  };
}
