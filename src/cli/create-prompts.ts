/**
 * `km create … --prompt A --prompt-file F [--wait]` (SPEC §10.6): prompts are read and checked
 * before anything is created, queued as runs once the sandbox exists (kmd starts them in
 * order), and with `--wait` waited for; the exit code is the first non-success of §10.4.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { KmError } from '../core/errors.ts';
import { MAX_PROMPT_BYTES } from '../agent/commands.ts';
import { optList, type CommandContext } from './spec.ts';

async function stdinText(ctx: CommandContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every prompt given, in order (`--prompt` values first, then `--prompt-file`s). */
export async function createPrompts(ctx: CommandContext): Promise<string[]> {
  const texts = optList(ctx.opts.prompt);
  const files = optList(ctx.opts['prompt-file']);
  if (files.filter((f) => f === '-').length > 1) throw new KmError('usage', '--prompt-file - (stdin) can be given once');
  const prompts = [...texts];
  for (const f of files) {
    if (f === '-') {
      prompts.push(await stdinText(ctx));
      continue;
    }
    try {
      prompts.push(readFileSync(resolvePath(ctx.cwd, f), 'utf8'));
    } catch (e) {
      throw new KmError('usage', `cannot read --prompt-file ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  for (const p of prompts) {
    if (p.trim() === '') throw new KmError('usage', 'a prompt is empty');
    const bytes = Buffer.byteLength(p, 'utf8');
    if (bytes > MAX_PROMPT_BYTES) throw new KmError('usage', `a prompt is ${bytes} bytes; the limit is 1 MiB (${MAX_PROMPT_BYTES} bytes)`);
  }
  if (ctx.opts.wait === true && prompts.length === 0) throw new KmError('usage', '--wait needs --prompt or --prompt-file (it waits for the queued runs)');
  return prompts;
}
