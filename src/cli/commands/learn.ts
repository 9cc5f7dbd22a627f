/** Learn mode commands (SPEC §7): km learn start | stop | status | generate. */
import type { ArgSpec, CommandSpec, GroupSpec, OptionSpec } from '../spec.ts';

export const learnGroups: GroupSpec[] = [{ path: ['learn'], summary: 'record a workload, then generate the minimal profile it needs' }];

const sb: ArgSpec = { name: 'sb', required: true, complete: 'sandbox' };
const lazy = (name: string) => async () => (await import('../learn-commands.ts'))[name as keyof typeof import('../learn-commands.ts')];

/** Generation flags, shared with `km shell --learn`. */
export const learnGenerateFlags: OptionSpec[] = [
  { name: 'output', short: 'o', type: 'string', valueName: 'FILE', description: 'where to write (default observed-profile.yaml; an existing file is never overwritten)' },
  { name: 'base', type: 'string', valueName: 'P', description: 'extend profile P and leave out what it already allows' },
  { name: 'exact', type: 'boolean', description: 'exact hosts only, no collapsing to registrable domains' },
];

export const learnCommands: CommandSpec[] = [
  {
    path: ['learn', 'start'],
    summary: 'start recording a sandbox\'s traffic and commands',
    description: 'Opens a learn session: DNS names, hosts and ports, GitHub repos and pushed refs, commands and\ndenials are recorded from the gateway until km learn stop. Any sandbox can be put in learn mode.',
    args: [sb],
    json: true,
    examples: ['km learn start demo'],
    load: lazy('learnStartCommand'),
  },
  {
    path: ['learn', 'stop'],
    summary: 'stop recording',
    args: [sb],
    json: true,
    examples: ['km learn stop demo'],
    load: lazy('learnStopCommand'),
  },
  {
    path: ['learn', 'status'],
    summary: 'show whether a sandbox is recording and what was observed so far',
    args: [sb],
    json: true,
    examples: ['km learn status demo', 'km learn status demo --json'],
    load: lazy('learnStatusCommand'),
  },
  {
    path: ['learn', 'generate'],
    summary: 'write the minimal profile for what a learn session observed',
    description:
      'Generates from the latest session (or --session ID). Names collapse to "." + registrable domain\n' +
      '(Public Suffix List); names without one, IP literals and non-default ports become allowedHosts.\n' +
      'Repos and pushed refs become allowedRepos/allowedRefs; commands appear as comments only.\n' +
      '--diff P prints what the result changes relative to profile P and writes no file.',
    args: [sb],
    options: [
      { name: 'session', type: 'string', valueName: 'ID', description: 'generate from this session (default: the latest)' },
      ...learnGenerateFlags,
      { name: 'diff', type: 'string', valueName: 'P', description: 'compare with profile P instead of writing a file' },
    ],
    json: true,
    examples: [
      'km learn generate demo',
      'km learn generate demo --base restricted-dev -o team.yaml',
      'km learn generate demo --diff open-dev',
      'km learn generate demo --session ls-2 --exact --json',
    ],
    load: lazy('learnGenerateCommand'),
  },
];
