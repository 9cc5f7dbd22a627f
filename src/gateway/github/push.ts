/**
 * Ref enforcement on `POST …/git-receive-pack` (SPEC §4.3). Reads the command list (and,
 * when a fast-forward must be proven, the pack) before anything is forwarded; refuses the
 * whole push if any update is refused.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { denyResponse } from '../deny.ts';
import { proveFastForward, type AncestorQuery } from './ancestry.ts';
import { createBodyReader, type BodyReader } from './body.ts';
import { REFS_RULE, matchRef } from './match.ts';
import { createPackScan, scanPack, type PackScan } from './pack.ts';
import { malformed, parsePushOptions, parseReceivePackCommands, type RefUpdateCommand } from './pktline.ts';
import { canReportStatus, receivePackRefusal } from './refusal.ts';
import type { GithubPolicy, GithubVerdict, GuardDeps } from './types.ts';

/** Largest command section read before giving up (many thousands of refs). */
const MAX_COMMAND_BYTES = 8 * 1024 * 1024;
/** Largest pack prefix held in memory for the fast-forward proof. */
export const MAX_PACK_INSPECTION_BYTES = 64 * 1024 * 1024;

export type UpdateKind = 'create' | 'delete' | 'update' | 'force';

export interface UpdateVerdict {
  ref: string;
  kind: UpdateKind;
  decision: 'allow' | 'deny';
  rule: string;
  /** For refused updates: the `ng` reason and the progress message. */
  reason?: string;
  message?: string;
  fast_forward?: 'pack' | 'upstream' | 'not-ancestor' | 'unknown';
}

export interface PushInput {
  policy: GithubPolicy;
  deps: GuardDeps;
  repo: string;
  headers: IncomingHttpHeaders;
  reader: BodyReader;
  detail: Record<string, unknown>;
  maxPackBytes?: number;
}

const ZERO = /^0+$/;

function isGzip(headers: IncomingHttpHeaders): boolean {
  const v = headers['content-encoding'];
  return typeof v === 'string' && /^\s*(x-)?gzip\s*$/i.test(v);
}

export function readerFor(body: import('node:stream').Readable, headers: IncomingHttpHeaders): BodyReader {
  return createBodyReader(body, isGzip(headers));
}

async function readUntil<T>(reader: BodyReader, parse: () => T | { incomplete: true }, what: string): Promise<T> {
  for (;;) {
    const r = parse();
    if (!(typeof r === 'object' && r !== null && 'incomplete' in r)) return r;
    if (reader.ended()) throw malformed(`truncated ${what}`);
    if (reader.decoded().length > MAX_COMMAND_BYTES) throw malformed(`${what} larger than ${MAX_COMMAND_BYTES} bytes`);
    await reader.more();
  }
}

function refList(policy: GithubPolicy): string {
  return `[${(policy.allowedRefs ?? []).join(', ')}]`;
}

/** Ref and deletion rules; force pushes are settled later. */
function firstPass(policy: GithubPolicy, c: RefUpdateCommand): UpdateVerdict {
  const kind: UpdateKind = ZERO.test(c.oldOid) ? 'create' : ZERO.test(c.newOid) ? 'delete' : 'update';
  const m = matchRef(policy.allowedRefs, c.ref);
  if (!m.allow) {
    return { ref: c.ref, kind, decision: 'deny', rule: REFS_RULE, reason: 'km: ref not allowed', message: `km: push refused: ${c.ref} is not in allowedRefs ${refList(policy)}` };
  }
  if (kind === 'delete' && !policy.allowRefDeletion) {
    return {
      ref: c.ref, kind, decision: 'deny', rule: 'sourceAccess.github.allowRefDeletion', reason: 'km: ref deletion not allowed',
      message: `km: push refused: deleting ${c.ref} needs allowRefDeletion: true`,
    };
  }
  return { ref: c.ref, kind, decision: 'allow', rule: m.rule };
}

/** Reads the pack (up to the cap) far enough to prove every `update`, or to its end. */
async function inspectPack(reader: BodyReader, start: number, hashLen: number, updates: RefUpdateCommand[], cap: number): Promise<PackScan> {
  const scan = createPackScan(start, hashLen);
  for (;;) {
    scanPack(scan, reader.decoded(), reader.ended());
    if (scan.state === 'done' || scan.state === 'invalid') return scan;
    if (scan.pastCommits) {
      const proofs = await Promise.all(updates.map((u) => proveFastForward(scan.commits, u.oldOid, u.newOid, undefined)));
      if (proofs.every((p) => p.proven)) return scan;
    }
    do {
      if (reader.decoded().length >= cap || reader.rawLength() >= cap) {
        scan.problem = `pack larger than the ${cap}-byte inspection limit`;
        return scan;
      }
      await reader.more();
    } while (!reader.ended() && reader.decoded().length < scan.wantBytes);
  }
}

async function settleForcePushes(input: PushInput, commands: RefUpdateCommand[], verdicts: UpdateVerdict[], packStart: number): Promise<Record<string, unknown> | null> {
  const idx = verdicts.flatMap((v, i) => (v.kind === 'update' ? [i] : []));
  if (idx.length === 0) return null;
  const updates = idx.map((i) => commands[i] as RefUpdateCommand);
  const hashLen = (updates[0] as RefUpdateCommand).oldOid.length / 2;
  const scan = await inspectPack(input.reader, packStart, hashLen, updates, input.maxPackBytes ?? MAX_PACK_INSPECTION_BYTES);
  const compare = input.deps.compareAncestor;
  const ask: AncestorQuery | undefined = compare === undefined ? undefined : (a, d) => compare(input.repo, a, d, input.headers);
  for (const [k, i] of idx.entries()) {
    const u = updates[k] as RefUpdateCommand;
    const p = await proveFastForward(scan.commits, u.oldOid, u.newOid, ask);
    const v = verdicts[i] as UpdateVerdict;
    v.fast_forward = p.via;
    if (p.proven) continue;
    // Allowed force pushes are still classified (learn mode records them, SPEC §7).
    if (input.policy.allowForcePush) {
      verdicts[i] = { ...v, kind: 'force', rule: 'sourceAccess.github.allowForcePush' };
      continue;
    }
    verdicts[i] = {
      ...v, kind: 'force', decision: 'deny', rule: 'sourceAccess.github.allowForcePush', reason: 'km: force push not allowed',
      message: `km: push refused: ${u.ref} is not a fast-forward${p.via === 'unknown' ? ' (could not be proven one)' : ''} and allowForcePush is false`,
    };
  }
  return { objects_seen: scan.seen, commits_seen: scan.commits.size, ...(scan.problem === null ? {} : { problem: scan.problem }) };
}

function pushEvent(input: PushInput, decision: 'allow' | 'deny', rule: string, updates: UpdateVerdict[], pack: Record<string, unknown> | null, extra: Record<string, unknown>): Record<string, unknown> {
  const list = updates.map(({ message: _m, reason: _r, ...u }) => u);
  return {
    event_type: 'git.push', source: 'gateway', sandbox_id: input.policy.sandboxId,
    detail: { ...input.detail, decision, rule, updates: list, ...(pack === null ? {} : { pack }), ...extra },
  };
}

function refuse(input: PushInput, capabilities: string[], verdicts: UpdateVerdict[], pack: Record<string, unknown> | null, extra: Record<string, unknown>): GithubVerdict {
  input.reader.discard();
  const first = verdicts.find((v) => v.decision === 'deny') as UpdateVerdict;
  const all = verdicts.map((v) => (v.decision === 'deny' ? v : { ...v, decision: 'deny' as const, rule: 'push-refused-as-a-whole', reason: 'km: push refused (another ref in this push was refused)' }));
  const event = pushEvent(input, 'deny', first.rule, all, pack, extra);
  if (canReportStatus(capabilities)) {
    const r = receivePackRefusal(capabilities, all.map((v) => ({ ref: v.ref, reason: v.reason ?? 'km: push refused' })), all.flatMap((v) => (v.message === undefined ? [] : [v.message])));
    return { action: 'respond', ...r, event };
  }
  const d = denyResponse({
    error: 'ref_not_allowed', host: (input.detail.host as string) ?? null, port: null, rule: first.rule, sandbox: input.policy.sandboxId,
    hint: first.message ?? 'push refused', extra: { repo: input.repo, ref: first.ref },
  });
  return { action: 'respond', ...d, event };
}

export async function checkPush(input: PushInput): Promise<GithubVerdict> {
  const { reader } = input;
  const parsed = await readUntil(reader, () => parseReceivePackCommands(reader.decoded()), 'command list');
  if (parsed.commands.length === 0) {
    // git's probe before a large body (a lone flush-pkt): nothing is pushed by it
    return { action: 'forward', body: reader.replay(), event: { event_type: 'git.access', source: 'gateway', sandbox_id: input.policy.sandboxId, detail: input.detail } };
  }
  let packStart = parsed.consumed;
  const extra: Record<string, unknown> = {};
  if (parsed.capabilities.includes('push-options')) {
    const o = await readUntil(reader, () => parsePushOptions(reader.decoded(), parsed.consumed), 'push options');
    packStart = o.next;
    extra.push_options = o.options.length; // counted, not recorded: options are free text
  }
  const verdicts = parsed.commands.map((c) => firstPass(input.policy, c));
  let pack: Record<string, unknown> | null = null;
  if (verdicts.every((v) => v.decision === 'allow')) pack = await settleForcePushes(input, parsed.commands, verdicts, packStart);
  if (verdicts.some((v) => v.decision === 'deny')) return refuse(input, parsed.capabilities, verdicts, pack, extra);
  return { action: 'forward', body: reader.replay(), event: pushEvent(input, 'allow', input.detail.rule as string, verdicts, pack, extra) };
}
