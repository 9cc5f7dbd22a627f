/**
 * The command table: every `km` command, assembled from one file per area under
 * `commands/`. Each entry is metadata plus a lazy `load()` of its implementation, so
 * `km --version` imports nothing heavy.
 */
import type { Table } from './parse.ts';
import type { CommandSpec, GroupSpec } from './spec.ts';
import { coreCommands, coreGroups } from './commands/core.ts';
import { profileCommands, profileGroups } from './commands/profile.ts';
import { configCommands, configGroups } from './commands/config.ts';
import { daemonCommands, daemonGroups } from './commands/daemon.ts';
import { policyCommands, policyGroups } from './commands/policy.ts';
import { scheduleCommands, scheduleGroups } from './commands/schedule.ts';
import { sandboxCommands, sandboxGroups } from './commands/sandbox.ts';
import { mailCommands, mailGroups } from './commands/mail.ts';
import { observeCommands, observeGroups } from './commands/observe.ts';
import { learnCommands, learnGroups } from './commands/learn.ts';
import { agentCommands, agentGroups } from './commands/agent.ts';
import { budgetCommands, budgetGroups } from './commands/budget.ts';

/** Commands reserved for later versions (SPEC §0.2). */
export const RESERVED = ['bootstrap', 'rsync', 'roll', 'vscode', 'desktop', 'check', 'capacity', 'cluster', 'freeze', 'h1'] as const;

const reserved: CommandSpec[] = RESERVED.map((name) => ({
  path: [name],
  summary: 'reserved for a later version',
  hidden: true,
  rawArgs: true,
  load: async () => (await import('./commands/reserved.ts')).default,
}));

export function buildTable(): Table {
  const commands: CommandSpec[] = [
    ...coreCommands,
    ...profileCommands,
    ...configCommands,
    ...daemonCommands,
    ...policyCommands,
    ...scheduleCommands,
    ...sandboxCommands,
    ...agentCommands,
    ...mailCommands,
    ...observeCommands,
    ...learnCommands,
    ...budgetCommands,
    ...reserved,
  ];
  const groups: GroupSpec[] = [...coreGroups, ...profileGroups, ...configGroups, ...daemonGroups, ...policyGroups, ...scheduleGroups, ...sandboxGroups, ...agentGroups, ...mailGroups, ...observeGroups, ...learnGroups, ...budgetGroups];
  return { commands, groups };
}
