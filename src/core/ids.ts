import { randomBytes } from 'node:crypto';

/** Sandbox ID `{prefix}-{8 lowercase hex}` (SPEC §8.2). */
export const SANDBOX_ID_RE = /^[a-z][a-z0-9]{0,11}-[0-9a-f]{8}$/;
export const PREFIX_RE = /^[a-z][a-z0-9]{0,11}$/;
export const ALIAS_RE = /^[a-z][a-z0-9-]{0,31}$/;

export type RandomHex = (bytes: number) => string;
export const cryptoRandomHex: RandomHex = (bytes) => randomBytes(bytes).toString('hex');

export function newSandboxId(prefix: string, random: RandomHex = cryptoRandomHex): string {
  return `${prefix}-${random(4)}`;
}

/** Run ID `YYYYMMDDTHHMMSSZ` for the given instant (UTC). */
export function runIdAt(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export const isSandboxId = (s: string): boolean => SANDBOX_ID_RE.test(s);
export const isAlias = (s: string): boolean => ALIAS_RE.test(s) && !SANDBOX_ID_RE.test(s);
