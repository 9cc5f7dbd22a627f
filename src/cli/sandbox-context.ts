/**
 * What the sandbox commands gather on the CLI side before talking to kmd: the operator
 * config (project and user layers are read here, where the user's cwd is; the cached load,
 * see config/memo.ts) and the time zone for messages. Profile resolution for create and
 * clone is in create-context.ts.
 */
import type { OperatorConfig } from '../config/index.ts';
import { loadOperatorConfigCached } from '../config/memo.ts';
import { resolveScheduleTimeZone } from './at-timezone.ts';
import type { CommandContext } from './spec.ts';

export interface SandboxCliContext {
  config: OperatorConfig;
  stateDir: string;
  timeZone: string;
}

/** `timeZone: false` skips the zone lookup for commands that print no local times (list, status). */
export async function sandboxContext(ctx: CommandContext, options: { timeZone?: boolean } = {}): Promise<SandboxCliContext> {
  const { config, stateDir } = await loadOperatorConfigCached({ env: ctx.env, cwd: ctx.cwd });
  if (options.timeZone === false) return { config, stateDir, timeZone: config.timezone ?? 'UTC' };
  let timeZone = 'UTC';
  try {
    timeZone = (await resolveScheduleTimeZone({ env: ctx.env, cwd: ctx.cwd })).timeZone;
  } catch {
    timeZone = config.timezone ?? 'UTC';
  }
  return { config, stateDir, timeZone };
}
