/** Commands of the profile area: `km validate`, `km profile list | show | schema` (SPEC §1.6–1.7). */
import type { CommandSpec, GroupSpec } from '../spec.ts';

const SUBSTRATES = ['local', 'docker', 'ec2', 'ecs'] as const;

export const profileGroups: GroupSpec[] = [{ path: ['profile'], summary: 'list, show and describe profiles' }];

export const profileCommands: CommandSpec[] = [
  {
    path: ['validate'],
    summary: 'validate profiles (extends resolved, substrate rules included)',
    description:
      'Check each profile file or name, even after failures. Prints one line per profile on stdout\n' +
      '(valid, valid (with warnings), invalid (N errors), or skipped for abstract fragments) and\n' +
      'each problem as file:line:col: path: message on stderr.\n' +
      'Exit 0 when all are valid or skipped, 1 when any is invalid or unreadable, 2 on bad usage.',
    args: [{ name: 'file|name', required: true, variadic: true, complete: 'profile' }],
    options: [
      { name: 'substrate', type: 'string', valueName: 'S', choices: SUBSTRATES, description: 'check against this substrate instead of the profile\'s own (default: the profile\'s, else local)' },
      { name: 'strict', type: 'boolean', description: 'treat warnings as failures' },
    ],
    json: true,
    examples: ['km validate profiles/learn.yaml', 'km validate goose --substrate ec2', 'km validate --strict profiles/*.yaml'],
    load: async () => (await import('../profile-commands.ts')).validateCommand,
  },
  {
    path: ['profile', 'list'],
    summary: 'list built-in profiles and profiles in the search paths',
    description: 'Built-in profiles with their intent, then profiles found in ./profiles and $KM_HOME/profiles.',
    json: true,
    examples: ['km profile list', 'km profile list --json'],
    load: async () => (await import('../profile-commands.ts')).profileListCommand,
  },
  {
    path: ['profile', 'show'],
    summary: 'show a profile as written, or resolved with --resolved',
    description:
      'Print the profile as written, or with --resolved after applying extends and defaults, as YAML\n' +
      'with a header comment naming the files that contributed (JSON with --json).',
    args: [{ name: 'file|name', required: true, complete: 'profile' }],
    options: [{ name: 'resolved', type: 'boolean', description: 'apply extends and defaults' }],
    json: true,
    examples: ['km profile show goose', 'km profile show --resolved profiles/learn.yaml', 'km profile show --resolved --json goose'],
    load: async () => (await import('../profile-commands.ts')).profileShowCommand,
  },
  {
    path: ['profile', 'schema'],
    summary: 'print the JSON Schema (draft 2020-12) of SandboxProfile',
    description: 'The JSON Schema generated from the same definitions the validator uses, for editors and CI.',
    json: true,
    examples: ['km profile schema > sandbox-profile.schema.json'],
    load: async () => (await import('../profile-commands.ts')).profileSchemaCommand,
  },
];
