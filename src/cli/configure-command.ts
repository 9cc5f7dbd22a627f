/** `km configure [github]`: flags → `configure()` / `configureGithub()` → the path written (SPEC §14.2). */
import { createInterface } from 'node:readline/promises';
import { configure, type ConfigureResult } from '../config/configure.ts';
import { configureGithub } from '../config/github.ts';
import { KmError } from '../core/errors.ts';
import { writeJson } from './output.ts';
import type { CommandContext, CommandModule } from './spec.ts';

const GITHUB_FLAGS = ['app-id', 'installation-id', 'private-key-file'] as const;

export function renderConfigure(r: ConfigureResult): string {
  return r.written ? `${r.file}\n` : `${r.file} (unchanged)\n`;
}

function scopeOf(ctx: CommandContext): 'user' | 'project' {
  if (ctx.opts.user === true && ctx.opts.project === true) {
    throw new KmError('usage', '--user and --project are mutually exclusive', { hint: 'choose the file to write' });
  }
  return ctx.opts.project === true ? 'project' : 'user';
}

function report(ctx: CommandContext, result: ConfigureResult, extra: Record<string, unknown> = {}): void {
  if (ctx.global.json) {
    writeJson(ctx.io, { file: result.file, written: result.written, changed: result.changed, ...extra });
    return;
  }
  if (result.changed.length > 0) ctx.io.stderr.write(`Set ${result.changed.join(', ')}\n`);
  ctx.io.stdout.write(renderConfigure(result));
}

/** Line-at-a-time questions on the terminal; input ending early cancels without writing. */
function terminalQuestions(ctx: CommandContext): { ask: (q: string) => Promise<string>; close: () => void } {
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr, terminal: true });
  rl.on('SIGINT', () => rl.close());
  const lines = rl[Symbol.asyncIterator]();
  return {
    ask: async (question) => {
      rl.setPrompt(question);
      rl.prompt();
      const next = await lines.next();
      if (next.done) throw new KmError('failed', 'km configure was cancelled; nothing was written', { hint: 'for scripted use pass --set key=value' });
      return next.value;
    },
    close: () => rl.close(),
  };
}

async function runGithub(ctx: CommandContext, scope: 'user' | 'project'): Promise<void> {
  if (ctx.opts.set !== undefined || ctx.opts['non-interactive'] === true) {
    throw new KmError('usage', 'km configure github takes --app-id, --installation-id and --private-key-file, not --set or --non-interactive');
  }
  const str = (name: string) => (typeof ctx.opts[name] === 'string' ? (ctx.opts[name] as string) : undefined);
  const result = await configureGithub(
    { appId: str('app-id'), installationId: str('installation-id'), privateKeyFile: str('private-key-file') },
    { env: ctx.env, cwd: ctx.cwd, scope, note: (l) => ctx.io.stderr.write(`${l}\n`) },
  );
  report(ctx, result, { key_file: result.keyFile });
}

export const configureCommand: CommandModule = {
  async run(ctx) {
    const scope = scopeOf(ctx);
    const section = ctx.args[0];
    if (section === 'github') return runGithub(ctx, scope);
    if (section !== undefined) throw new KmError('usage', `unknown configure section "${section}"; the only one is github`, { hint: 'see km configure --help' });
    const stray = GITHUB_FLAGS.find((f) => ctx.opts[f] !== undefined);
    if (stray) throw new KmError('usage', `--${stray} belongs to km configure github`);
    const sets = (ctx.opts.set as string[] | undefined) ?? [];
    const nonInteractive = ctx.opts['non-interactive'] === true;
    const interactive = !nonInteractive && sets.length === 0;
    if (interactive && ctx.io.stdin.isTTY !== true) {
      throw new KmError('usage', 'km configure needs a terminal to ask its questions', {
        hint: 'pass settings with --set key=value (repeatable), or --non-interactive to accept the defaults',
      });
    }
    const terminal = interactive ? terminalQuestions(ctx) : undefined;
    try {
      const result = await configure({
        env: ctx.env,
        cwd: ctx.cwd,
        scope,
        sets,
        acceptDefaults: nonInteractive,
        ...(terminal ? { ask: terminal.ask } : {}),
        note: (line) => ctx.io.stderr.write(`${line}\n`),
      });
      report(ctx, result);
    } finally {
      terminal?.close();
    }
  },
};
