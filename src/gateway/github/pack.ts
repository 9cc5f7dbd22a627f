/**
 * Incremental packfile scanner (gitformat-pack) that keeps only what a fast-forward proof
 * needs: the commits in the pack, by object id, with their parents. Non-commit objects are
 * inflated only to find where they end. Deltified commits are resolved against bases in the
 * pack (OFS_DELTA by offset, REF_DELTA by id); a delta whose base is not a commit in the pack
 * is skipped, so a commit hidden behind it is simply "not in the pack" (fail closed).
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { applyDelta } from './delta.ts';

/** Objects larger than this are not inflated; scanning stops there (the proof may still succeed). */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Total inflated bytes one scan may produce (bounds the work a compressed pack can cause). */
const MAX_INFLATED_BYTES = 512 * 1024 * 1024;

const OBJ_COMMIT = 1;
const OBJ_OFS_DELTA = 6;
const OBJ_REF_DELTA = 7;

export interface PackScan {
  /** Raw id length in bytes: 20 (SHA-1) or 32 (SHA-256). */
  hashLen: number;
  commits: Map<string, string[]>;
  /** 'header' until the pack header is read; 'objects' while reading; then a final state. */
  state: 'header' | 'objects' | 'done' | 'invalid';
  /** Why scanning stopped early (`invalid`), for the audit event. */
  problem: string | null;
  pos: number;
  total: number;
  seen: number;
  /** Buffer length the scanner needs before another attempt is worthwhile. */
  wantBytes: number;
  /** True once a non-commit base object has been seen (git writes all commits first). */
  pastCommits: boolean;
  inflatedBytes: number;
  commitData: Map<number, Buffer>;
  commitDataById: Map<string, Buffer>;
  baseType: Map<number, number>;
}

export function createPackScan(start: number, hashLen: number): PackScan {
  return {
    hashLen, commits: new Map(), state: 'header', problem: null, pos: start, total: 0, seen: 0,
    wantBytes: start + 12, pastCommits: false, inflatedBytes: 0, commitData: new Map(), commitDataById: new Map(), baseType: new Map(),
  };
}

function objectId(hashLen: number, data: Buffer): string {
  const h = createHash(hashLen === 32 ? 'sha256' : 'sha1');
  h.update(`commit ${data.length}\0`);
  h.update(data);
  return h.digest('hex');
}

export function commitParents(data: Buffer): string[] {
  const end = data.indexOf('\n\n');
  const header = data.toString('utf8', 0, end === -1 ? data.length : end);
  const parents: string[] = [];
  for (const line of header.split('\n')) if (line.startsWith('parent ')) parents.push(line.slice(7).trim());
  return parents;
}

interface Entry { type: number; size: number; dataStart: number; baseOffset?: number; baseId?: string }

/** Object header at `pos`, or null when more bytes are needed. */
function readEntry(buf: Buffer, pos: number, hashLen: number): Entry | null {
  const start = pos;
  let c = buf[pos++];
  if (c === undefined) return null;
  const type = (c >> 4) & 7;
  let size = c & 15;
  let shift = 4;
  while (c & 0x80) {
    c = buf[pos++];
    if (c === undefined) return null;
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (type === OBJ_OFS_DELTA) {
    c = buf[pos++];
    if (c === undefined) return null;
    let ofs = c & 0x7f;
    while (c & 0x80) {
      c = buf[pos++];
      if (c === undefined) return null;
      ofs = (ofs + 1) * 128 + (c & 0x7f);
    }
    return { type, size, dataStart: pos, baseOffset: start - ofs };
  }
  if (type === OBJ_REF_DELTA) {
    if (buf.length < pos + hashLen) return null;
    return { type, size, dataStart: pos + hashLen, baseId: buf.toString('hex', pos, pos + hashLen) };
  }
  return { type, size, dataStart: pos };
}

type Inflated = { data: Buffer; end: number } | 'incomplete' | 'corrupt';

function inflateAt(buf: Buffer, pos: number, size: number): Inflated {
  try {
    const r = inflateSync(buf.subarray(pos), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    if (r.buffer.length !== size) return 'corrupt';
    return { data: r.buffer, end: pos + r.engine.bytesWritten };
  } catch (e) {
    return (e as { code?: string }).code === 'Z_BUF_ERROR' ? 'incomplete' : 'corrupt';
  }
}

function stop(scan: PackScan, problem: string): void {
  scan.state = 'invalid';
  scan.problem = problem;
}

function readHeader(scan: PackScan, buf: Buffer): boolean {
  if (buf.length < scan.pos + 12) return false;
  if (buf.toString('latin1', scan.pos, scan.pos + 4) !== 'PACK') {
    stop(scan, 'no PACK header');
    return false;
  }
  const version = buf.readUInt32BE(scan.pos + 4);
  if (version !== 2 && version !== 3) {
    stop(scan, `unsupported pack version ${version}`);
    return false;
  }
  scan.total = buf.readUInt32BE(scan.pos + 8);
  scan.pos += 12;
  scan.state = scan.total === 0 ? 'done' : 'objects';
  return true;
}

function recordCommit(scan: PackScan, offset: number, data: Buffer): void {
  const id = objectId(scan.hashLen, data);
  scan.commits.set(id, commitParents(data));
  scan.commitData.set(offset, data);
  scan.commitDataById.set(id, data);
  scan.baseType.set(offset, OBJ_COMMIT);
}

/** Resolves one inflated object: commits are recorded, deltas applied when their base is a known commit. */
function resolveObject(scan: PackScan, offset: number, entry: Entry, data: Buffer): void {
  if (entry.type === OBJ_COMMIT) return recordCommit(scan, offset, data);
  if (entry.type !== OBJ_OFS_DELTA && entry.type !== OBJ_REF_DELTA) {
    scan.baseType.set(offset, entry.type);
    if (entry.type >= 2 && entry.type <= 4) scan.pastCommits = true;
    return;
  }
  const base = entry.baseOffset !== undefined ? scan.commitData.get(entry.baseOffset) : scan.commitDataById.get(entry.baseId ?? '');
  if (base === undefined) {
    const t = entry.baseOffset !== undefined ? scan.baseType.get(entry.baseOffset) : undefined;
    if (t !== undefined) scan.baseType.set(offset, t);
    return;
  }
  try {
    recordCommit(scan, offset, applyDelta(base, data));
  } catch (e) {
    stop(scan, `corrupt delta at offset ${offset}: ${(e as Error).message}`);
  }
}

/**
 * Advances the scan over `buf` (the decoded request body so far). Call again with a longer
 * buffer once `buf.length >= scan.wantBytes`, or with `ended` true at the end of the body.
 */
export function scanPack(scan: PackScan, buf: Buffer, ended: boolean): void {
  if (scan.state === 'header' && !readHeader(scan, buf)) {
    if (ended && scan.state === 'header') {
      if (buf.length === scan.pos) scan.state = 'done';
      else stop(scan, 'truncated pack header');
    }
    return;
  }
  while (scan.state === 'objects') {
    const entry = readEntry(buf, scan.pos, scan.hashLen);
    if (entry !== null && (entry.size > MAX_OBJECT_BYTES || scan.inflatedBytes + entry.size > MAX_INFLATED_BYTES)) {
      return stop(scan, `object at offset ${scan.pos} is too large to inspect`);
    }
    const inflated = entry === null ? 'incomplete' : inflateAt(buf, entry.dataStart, entry.size);
    if (inflated === 'incomplete') {
      if (ended) stop(scan, 'truncated pack');
      else scan.wantBytes = scan.pos + Math.max(2 * (buf.length - scan.pos), 65536);
      return;
    }
    if (inflated === 'corrupt' || entry === null) return stop(scan, `corrupt object at offset ${scan.pos}`);
    scan.inflatedBytes += entry.size;
    resolveObject(scan, scan.pos, entry, inflated.data);
    scan.pos = inflated.end;
    scan.seen++;
    if (scan.seen === scan.total) scan.state = 'done';
  }
}
