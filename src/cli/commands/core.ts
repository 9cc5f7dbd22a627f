/** Commands about km itself: completion. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const coreGroups: GroupSpec[] = [];

export const coreCommands: CommandSpec[] = [
  {
    path: ['completion'],
    summary: 'print a shell completion script (bash or zsh)',
    description:
      'Print a completion script that completes commands, flags, sandbox references and profile names.\n' +
      'Install with: km completion bash > /etc/bash_completion.d/km   or   source <(km completion bash)',
    args: [{ name: 'shell', required: true }],
    examples: ['source <(km completion bash)', 'km completion zsh > "${fpath[1]}/_km"'],
    load: async () => (await import('../completion.ts')).completionCommand,
  },
  {
    path: ['__complete'],
    summary: 'internal: print completion candidates for the words given',
    hidden: true,
    rawArgs: true,
    load: async () => (await import('../completion.ts')).completeCommand,
  },
];
