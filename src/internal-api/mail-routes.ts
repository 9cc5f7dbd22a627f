/**
 * The mail half of km.internal (SPEC §12.5): what `km-mail` inside a sandbox calls. The
 * sender and the mailbox are always the sandbox the socket belongs to.
 */
import type { IncomingMessage } from 'node:http';
import { KmError } from '../core/errors.ts';
import { renderMailTable, renderMessage, renderSent, splitRecipients, type MailService, type SendInput } from '../mail/index.ts';
import { readBody } from '../telemetry/index.ts';

export const MAIL_MAX_BYTES = 25 * 1024 * 1024;

export interface Answer {
  status?: number;
  json: unknown;
  text: string;
}

const truthy = (v: string | null | undefined): boolean => v === '1' || v === 'true' || v === 'yes';

async function formOf(req: IncomingMessage): Promise<FormData | Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '');
  const body = await readBody(req, MAIL_MAX_BYTES).catch((e: Error) => {
    throw new KmError('usage', e.message);
  });
  if (type.toLowerCase().startsWith('application/json')) {
    try {
      return JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      throw new KmError('usage', 'the request body is not valid JSON');
    }
  }
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(type)) throw new KmError('usage', `unsupported content type "${type}"`);
  return new Request('http://km.internal/', { method: 'POST', headers: { 'content-type': type }, body }).formData();
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** multipart (`km-mail`, fields to/cc/subject/text/body/attach/no_sign) or JSON (`attachments: [{filename, content_base64}]`). */
async function sendInput(sandboxId: string, req: IncomingMessage): Promise<SendInput> {
  const f = await formOf(req);
  if (f instanceof FormData) {
    const text = f.get('text');
    const body = f.get('body');
    if (text !== null && body !== null) throw new KmError('usage', 'give either --body or --text, not both');
    const files = f.getAll('attach').filter((a): a is File => typeof a !== 'string');
    return {
      from: sandboxId,
      to: splitRecipients(f.getAll('to').map(String)),
      cc: splitRecipients(f.getAll('cc').map(String)),
      subject: String(f.get('subject') ?? ''),
      text: typeof body === 'string' ? body : body ? await body.text() : typeof text === 'string' ? text : '',
      attachments: await Promise.all(files.map(async (a) => ({ filename: a.name || 'attachment', content: Buffer.from(await a.arrayBuffer()) }))),
      noSign: truthy(String(f.get('no_sign') ?? '')),
    };
  }
  if (f.from !== undefined && f.from !== sandboxId) throw new KmError('usage', 'a sandbox sends only as itself; --from is not available inside a sandbox');
  return {
    from: sandboxId,
    to: splitRecipients(strings(f.to)),
    cc: splitRecipients(strings(f.cc)),
    subject: typeof f.subject === 'string' ? f.subject : '',
    text: typeof f.text === 'string' ? f.text : '',
    attachments: (Array.isArray(f.attachments) ? f.attachments : []).map((a: { filename?: unknown; content_base64?: unknown }) => ({
      filename: String(a.filename ?? 'attachment'),
      content: Buffer.from(String(a.content_base64 ?? ''), 'base64'),
    })),
    noSign: f.no_sign === true,
  };
}

export async function sendMail(mail: MailService, sandboxId: string, label: string, req: IncomingMessage): Promise<Answer> {
  const input = await sendInput(sandboxId, req);
  if (input.subject === '') throw new KmError('usage', 'missing --subject');
  const r = await mail.send(input);
  const text = renderSent(r, label, [...input.to, ...(input.cc ?? [])]) +
    r.deliveries.filter((d) => d.status === 'rejected').map((d) => `warning: not delivered to ${d.recipient}: ${d.reason}\n`).join('');
  return { json: r, text, ...(r.deliveries.length > 0 && r.deliveries.every((d) => d.status === 'rejected') ? { status: 422 } : {}) };
}

export async function readMail(mail: MailService, sandboxId: string, label: string, q: URLSearchParams, markRead: boolean, timeZone: string): Promise<Answer> {
  const messageId = q.get('message') ?? undefined;
  const views = await mail.read(sandboxId, { unreadOnly: truthy(q.get('unread')), ...(messageId ? { messageId } : {}), markRead, label });
  if (truthy(q.get('raw'))) return { json: views.map((v) => ({ message_id: v.json.message_id, raw: v.raw.toString('utf8') })), text: views.map((v) => v.raw.toString('utf8')).join('\n') };
  const json = views.map((v) => v.json);
  const text = messageId !== undefined || truthy(q.get('bodies')) ? json.map((m) => renderMessage(m, timeZone)).join('\n') || `No messages for ${label}.\n` : renderMailTable(json, label, timeZone);
  return { json, text };
}
