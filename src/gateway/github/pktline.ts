/**
 * pkt-line framing (gitprotocol-common) and the receive-pack request's command list
 * (gitprotocol-pack "Reference Update Request"). Pure.
 */
import { KmError } from '../../core/errors.ts';

export interface RefUpdateCommand {
  oldOid: string;
  newOid: string;
  ref: string;
}

export interface ReceivePackCommands {
  commands: RefUpdateCommand[];
  capabilities: string[];
  /** Bytes up to and including the flush-pkt that ends the command list. */
  consumed: number;
}

export type PktRead =
  | { type: 'data'; payload: Buffer; next: number }
  | { type: 'flush'; next: number }
  | { type: 'incomplete' };

export function malformed(message: string): KmError {
  return new KmError('failed', `malformed receive-pack request: ${message}`, {
    hint: 'the request body is not a valid git pkt-line stream',
  });
}

/** Reads the pkt-line starting at `offset`. Throws on a malformed length. */
export function readPkt(buf: Buffer, offset: number): PktRead {
  if (buf.length - offset < 4) return { type: 'incomplete' };
  const hex = buf.toString('latin1', offset, offset + 4);
  if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw malformed(`bad pkt-line length ${JSON.stringify(hex)}`);
  const len = Number.parseInt(hex, 16);
  if (len === 0) return { type: 'flush', next: offset + 4 };
  if (len < 4) throw malformed(`unexpected special packet ${hex}`);
  if (buf.length - offset < len) return { type: 'incomplete' };
  return { type: 'data', payload: buf.subarray(offset + 4, offset + len), next: offset + len };
}

/** One pkt-line carrying `payload`. */
export function pkt(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length + 4 > 65520) throw new KmError('internal', 'pkt-line payload too large');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

export const FLUSH_PKT = Buffer.from('0000');

const COMMAND = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S.*)$/;

function parseCommand(line: string): RefUpdateCommand {
  const m = COMMAND.exec(line);
  if (m === null || (m[1] as string).length !== (m[2] as string).length) {
    throw malformed(`bad command line ${JSON.stringify(line.slice(0, 200))}`);
  }
  return { oldOid: m[1] as string, newOid: m[2] as string, ref: m[3] as string };
}

function lineOf(payload: Buffer): string {
  const s = payload.toString('utf8');
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

function splitCapabilities(payload: Buffer): { line: string; capabilities: string[] | null } {
  const nul = payload.indexOf(0);
  if (nul === -1) return { line: lineOf(payload), capabilities: null };
  const caps = lineOf(payload.subarray(nul + 1)).split(' ').filter((c) => c !== '');
  return { line: payload.subarray(0, nul).toString('utf8'), capabilities: caps };
}

/** Commands inside a signed push certificate: the lines after the blank line, before the signature. */
function certificateCommands(lines: string[]): RefUpdateCommand[] {
  const blank = lines.indexOf('');
  if (blank === -1) throw malformed('push certificate without a command section');
  const out: RefUpdateCommand[] = [];
  for (const line of lines.slice(blank + 1)) {
    if (line.startsWith('-----BEGIN')) break;
    out.push(parseCommand(line));
  }
  return out;
}

/**
 * Parses `*shallow (command-list | push-cert) flush-pkt`. Capabilities follow a NUL on the
 * first command (or on the `push-cert` line). Returns `{ incomplete: true }` until the
 * flush-pkt has arrived; throws a KmError on malformed input.
 */
export function parseReceivePackCommands(buf: Buffer): ReceivePackCommands | { incomplete: true } {
  const commands: RefUpdateCommand[] = [];
  let capabilities: string[] | null = null;
  let cert: string[] | null = null;
  let offset = 0;
  for (;;) {
    const p = readPkt(buf, offset);
    if (p.type === 'incomplete') return { incomplete: true };
    offset = p.next;
    if (p.type === 'flush') break;
    if (cert !== null) {
      const line = lineOf(p.payload);
      if (line === 'push-cert-end') {
        commands.push(...certificateCommands(cert));
        cert = null;
      } else cert.push(line);
      continue;
    }
    const split: { line: string; capabilities: string[] | null } =
      capabilities === null ? splitCapabilities(p.payload) : { line: lineOf(p.payload), capabilities: null };
    const { line, capabilities: caps } = split;
    if (capabilities === null && line.startsWith('shallow ')) continue;
    if (capabilities === null) {
      capabilities = caps ?? [];
      if (line === 'push-cert') {
        cert = [];
        continue;
      }
    }
    commands.push(parseCommand(line));
  }
  if (cert !== null) throw malformed('push certificate not terminated');
  return { commands, capabilities: capabilities ?? [], consumed: offset };
}

/** The push options that follow the command list when `push-options` was negotiated. */
export function parsePushOptions(buf: Buffer, offset: number): { options: string[]; next: number } | { incomplete: true } {
  const options: string[] = [];
  for (;;) {
    const p = readPkt(buf, offset);
    if (p.type === 'incomplete') return { incomplete: true };
    offset = p.next;
    if (p.type === 'flush') return { options, next: offset };
    options.push(lineOf(p.payload));
  }
}
