/** `km email send|read` and `km identity list|show` (SPEC §12). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { KmError } from '../core/errors.ts';
import { ensureOperatorIdentity, identityJson, operatorAddress, renderIdentity, renderIdentityList } from '../identity/index.ts';
import { renderMailTable, renderMessage, renderSent, splitRecipients, type Attachment } from '../mail/index.ts';
import { labelOf, resolveSandboxRef } from '../sandbox/index.ts';
import { writeJson } from './output.ts';
import { optList, optStr, type CommandContext, type CommandModule } from './spec.ts';
import { mailServiceOf, withStore, type StoreContext } from './store-context.ts';


async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stdin) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(parts).toString('utf8');
}

function readFileFlag(ctx: CommandContext, flag: string, path: string, hint?: string): Buffer {
  const full = resolve(ctx.cwd, path);
  if (!existsSync(full) || !statSync(full).isFile()) throw new KmError('usage', `--${flag}: no such file "${path}"${hint ? `; ${hint}` : ''}`);
  return readFileSync(full);
}

async function bodyOf(ctx: CommandContext): Promise<string> {
  const body = optStr(ctx, 'body');
  const text = optStr(ctx, 'text');
  if (body !== undefined && text !== undefined) throw new KmError('usage', 'give either --body or --text, not both');
  if (body === '-') return readStdin(ctx.io.stdin);
  if (body !== undefined) return readFileFlag(ctx, 'body', body, 'use --text for literal text').toString('utf8');
  return text ?? '';
}

/** `operator`, or a sandbox reference → the sender/mailbox id and how to name it. */
async function who(s: StoreContext, ref: string): Promise<{ id: string; label: string }> {
  try {
    const sb = await resolveSandboxRef(s.store, ref);
    return { id: sb.id, label: labelOf(sb) };
  } catch (e) {
    // SPEC §8.3: the word `operator` is tried after ids, aliases and numbers.
    if (ref.trim().toLowerCase() === 'operator' && e instanceof KmError && e.code === 'not_found') return { id: 'operator', label: 'operator' };
    throw e;
  }
}

export const emailSendCommand: CommandModule = {
  async run(ctx) {
    const to = splitRecipients(optList(ctx.opts.to));
    const cc = splitRecipients(optList(ctx.opts.cc));
    const subject = optStr(ctx, 'subject');
    if (to.length === 0) throw new KmError('usage', 'missing --to', { hint: 'give --to <sb|address>[,…]' });
    if (subject === undefined) throw new KmError('usage', 'missing --subject');
    const text = await bodyOf(ctx);
    const attachments: Attachment[] = optList(ctx.opts.attach).map((f) => ({ filename: basename(f), content: readFileFlag(ctx, 'attach', f) }));
    return withStore(ctx, async (s) => {
      const from = await who(s, optStr(ctx, 'from') ?? 'operator');
      const mail = mailServiceOf(s, ctx);
      try {
        const r = await mail.send({ from: from.id, to, cc, subject, text, attachments, noSign: ctx.opts['no-sign'] === true });
        if (ctx.global.json) writeJson(ctx.io, r);
        else ctx.io.stdout.write(renderSent(r, from.label, [...to, ...cc]));
        const rejected = r.deliveries.filter((d) => d.status === 'rejected');
        for (const d of rejected) ctx.io.stderr.write(`warning: not delivered to ${d.recipient}: ${d.reason ?? 'refused'}\n`);
        return rejected.length > 0 && rejected.length === r.deliveries.length ? 1 : 0;
      } finally {
        mail.close();
      }
    });
  },
};

export const emailReadCommand: CommandModule = {
  async run(ctx) {
    return withStore(ctx, async (s) => {
      const box = await who(s, ctx.args[0] as string);
      const mail = mailServiceOf(s, ctx);
      const messageId = optStr(ctx, 'message');
      const views = await mail.read(box.id, { unreadOnly: ctx.opts.unread === true, markRead: ctx.opts['mark-read'] === true, label: box.label, ...(messageId ? { messageId } : {}) });
      if (ctx.opts.raw === true) {
        if (ctx.global.json) writeJson(ctx.io, views.map((v) => ({ message_id: v.json.message_id, raw: v.raw.toString('utf8') })));
        else ctx.io.stdout.write(views.map((v) => v.raw.toString('utf8')).join('\n'));
        return 0;
      }
      if (ctx.global.json) writeJson(ctx.io, views.map((v) => v.json));
      else if (messageId !== undefined) ctx.io.stdout.write(views.map((v) => renderMessage(v.json, s.c.timeZone)).join('\n') || `No messages for ${box.label}.\n`);
      else ctx.io.stdout.write(renderMailTable(views.map((v) => v.json), box.label, s.c.timeZone));
      return 0;
    });
  },
};

const operatorOf = (s: StoreContext, ctx: CommandContext) =>
  ensureOperatorIdentity(s.store, s.c.stateDir, operatorAddress({ emailSubdomain: s.c.config.email_subdomain, domain: s.c.config.domain, operatorEmail: s.c.config.operator_email }), ctx.clock);

export const identityListCommand: CommandModule = {
  async run(ctx) {
    return withStore(ctx, async (s) => {
      await operatorOf(s, ctx);
      const all = (await s.store.listIdentities()).sort((a, b) => (a.id === 'operator' ? -1 : b.id === 'operator' ? 1 : a.id.localeCompare(b.id)));
      if (ctx.global.json) writeJson(ctx.io, all.map(identityJson));
      else ctx.io.stdout.write(renderIdentityList(all));
      return 0;
    });
  },
};

export const identityShowCommand: CommandModule = {
  async run(ctx) {
    return withStore(ctx, async (s) => {
      const ref = ctx.args[0] as string;
      let record;
      const sb = await resolveSandboxRef(s.store, ref, { allowDestroyed: true }).catch((e: unknown) => {
        if (ref.trim().toLowerCase() === 'operator' && e instanceof KmError && e.code === 'not_found') return undefined;
        throw e;
      });
      if (!sb) record = await operatorOf(s, ctx);
      else {
        record = await s.store.getIdentity(sb.id);
        if (!record) throw new KmError('not_found', `${labelOf(sb)} has no mail identity${sb.status === 'destroyed' ? ' (its identity was removed when it was destroyed)' : ''}`);
      }
      if (ctx.global.json) writeJson(ctx.io, identityJson(record));
      else ctx.io.stdout.write(renderIdentity(record));
      return 0;
    });
  },
};
