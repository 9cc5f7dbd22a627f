/**
 * The CLI entry: argv → command table → one command → exit code. The only place (with the
 * daemon's HTTP layer) where errors become user-visible text.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { KmError } from '../core/errors.ts';
import { commandHelp, groupHelp } from './help.ts';
import { colorEnabled, renderError } from './output.ts';
import { parseOptions, resolveCommand } from './parse.ts';
import type { CommandIO, GlobalFlags } from './spec.ts';
import { buildTable } from './table.ts';
import { KM_VERSION } from './version.ts';

export interface CliDeps {
  io: CommandIO;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock?: Clock;
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io, env } = deps;
  const table = buildTable();
  let global: GlobalFlags = { json: argv.includes('--json'), debug: argv.includes('--debug'), color: false };
  try {
    const r = resolveCommand(table, argv);
    global = { json: r.global.json, debug: r.global.debug, color: colorEnabled(io.stdout, env, r.global.noColor) };
    if (r.global.version && !r.spec) {
      io.stdout.write(global.json ? JSON.stringify({ version: KM_VERSION }) + '\n' : `km ${KM_VERSION}\n`);
      return 0;
    }
    if (!r.spec) {
      if (r.global.help || r.path.length === 0 || r.group) {
        const text = groupHelp(table, r.group, r.path);
        if (r.global.help || r.path.length === 0) {
          io.stdout.write(text);
          return r.path.length === 0 && !r.global.help && argv.length > 0 ? 2 : 0;
        }
        io.stderr.write(text);
        throw new KmError('usage', `km ${r.path.join(' ')} needs a subcommand`, { hint: `see km ${r.path.join(' ')} --help` });
      }
      throw new KmError('usage', 'no command given', { hint: 'see km --help' });
    }
    const spec = r.spec;
    if (r.global.help) {
      io.stdout.write(commandHelp(spec));
      return 0;
    }
    if (global.json && !spec.json && !spec.rawArgs) {
      throw new KmError('usage', `km ${spec.path.join(' ')} has no --json output`, { hint: `see km ${spec.path.join(' ')} --help` });
    }
    const parsed = spec.rawArgs ? { args: [], opts: {}, rest: [] } : parseOptions(spec, r.remaining);
    const mod = await spec.load();
    const code = await mod.run({
      command: spec.path,
      args: parsed.args,
      opts: parsed.opts,
      rest: parsed.rest,
      raw: r.remaining,
      global,
      io,
      env,
      cwd: deps.cwd,
      clock: deps.clock ?? systemClock,
    });
    return code ?? 0;
  } catch (e) {
    renderError(io, e, global);
    return e instanceof KmError ? e.exitCode : 1;
  }
}
