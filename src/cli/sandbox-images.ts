/** `km image bake | list | delete` (alias `km ami`, SPEC §9.6) on the local substrate. */
import { formatRemaining } from '../core/duration.ts';
import { KmError } from '../core/errors.ts';
import { profileSearchPaths } from '../config/index.ts';
import type { ImageJson } from '../sandbox/index.ts';
import { writeJson } from './output.ts';
import { kmd } from './sandbox-client.ts';
import { confirm } from './sandbox-confirm.ts';
import { sandboxContext } from './sandbox-context.ts';
import type { CommandModule } from './spec.ts';

const size = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(1)}${units[i]}`;
};

export function renderImages(items: readonly ImageJson[], nowMs: number): string {
  if (items.length === 0) return 'No local images. Bake one with: km image bake <sb>\n';
  const rows = [['NAME', 'BASE', 'SIZE', 'CREATED', 'FROM', 'USED-BY']];
  for (const i of items) {
    const used = [...i.used_by.sandboxes, ...i.used_by.profiles.map((p) => `profile:${p}`)];
    rows.push([i.name, i.base, size(i.size_bytes), `${formatRemaining((nowMs - Date.parse(i.created_at)) / 1000)} ago`, i.source_sandbox ?? '-', used.join(',') || '-']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 2))).join('')).join('\n') + '\n';
}

export const imageBakeCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const body = { sandbox: ctx.args[0], name: ctx.opts.name, description: ctx.opts.description };
    const img = await k.client.request<ImageJson>('POST', '/v1/images', body, { timeoutMs: 600_000 });
    if (ctx.global.json) writeJson(ctx.io, img);
    else ctx.io.stdout.write(`Baked image ${img.name} from ${img.source_sandbox} (${size(img.size_bytes)})\n`);
  },
};

export const imageListCommand: CommandModule = {
  async run(ctx) {
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const q = profileSearchPaths(c.config, { stateDir: c.stateDir, cwd: ctx.cwd, env: ctx.env }).map((p) => `search_path=${encodeURIComponent(p)}`);
    const items = await k.client.request<ImageJson[]>('GET', `/v1/images${q.length > 0 ? `?${q.join('&')}` : ''}`);
    if (ctx.global.json) writeJson(ctx.io, items);
    else ctx.io.stdout.write(renderImages(items, ctx.clock.now()));
  },
};

export const imageDeleteCommand: CommandModule = {
  async run(ctx) {
    const name = ctx.args[0] as string;
    if (ctx.opts.yes !== true) {
      if (ctx.io.stdin.isTTY !== true || ctx.io.stderr.isTTY !== true) {
        throw new KmError('usage', `deleting image ${name} needs confirmation; re-run with --yes`);
      }
      if (!(await confirm(ctx, `Delete image ${name}?`))) {
        ctx.io.stderr.write('Nothing deleted.\n');
        return 1;
      }
    }
    const c = await sandboxContext(ctx);
    const k = await kmd(ctx, c.stateDir);
    const r = await k.client.request<{ message: string }>('DELETE', `/v1/images/${encodeURIComponent(name)}`);
    if (ctx.global.json) writeJson(ctx.io, r);
    else ctx.io.stdout.write(r.message + '\n');
  },
};
