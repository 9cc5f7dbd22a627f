/** Commands of the config area: `km configure [github]` (SPEC §14.2). */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const configGroups: GroupSpec[] = [];

export const configCommands: CommandSpec[] = [
  {
    path: ['configure'],
    summary: 'write operator settings to the user or project config file',
    description:
      'Set keys of the operator configuration and write the file atomically, keeping\n' +
      'comments and other keys. On a terminal, asks for resource_prefix, email_subdomain and the other\n' +
      'main keys (empty answer keeps the value shown). --set key=value (repeatable, dotted keys such as\n' +
      'gateway.upstream_dns=10.0.0.2,10.0.0.3) sets keys without questions; an empty value removes the\n' +
      'key. --non-interactive accepts the defaults (recording resource_prefix and email_subdomain).\n' +
      'Writes $KM_HOME/config.yaml (--user, the default) or ./km-config.yaml / $KM_CONFIG (--project),\n' +
      'then prints the path. Invalid values are refused and nothing is written.\n' +
      '`km configure github` checks a GitHub App private key, copies it to $KM_HOME/github-app.pem\n' +
      '(mode 0600) and records github_app_id, github_installation_id and github_private_key_file.',
    args: [{ name: 'github', required: false }],
    options: [
      { name: 'set', type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'set a key; an empty value removes it' },
      { name: 'non-interactive', type: 'boolean', description: 'never ask; accept the defaults for keys not given with --set' },
      { name: 'user', type: 'boolean', description: 'write the user file $KM_HOME/config.yaml (default)' },
      { name: 'project', type: 'boolean', description: 'write the project file ./km-config.yaml (or $KM_CONFIG)' },
      { name: 'app-id', type: 'string', valueName: 'N', description: 'github: the GitHub App id' },
      { name: 'installation-id', type: 'string', valueName: 'N', description: 'github: the installation id' },
      { name: 'private-key-file', type: 'string', valueName: 'FILE', description: 'github: the App private key (PEM)' },
    ],
    json: true,
    examples: [
      'km configure',
      'km configure --non-interactive --set resource_prefix=staging --set email_subdomain=sb',
      'km configure --project --set gateway.upstream_dns=10.0.0.2,10.0.0.3',
      'km configure --set max_sandboxes=20 --json',
      'km configure github --app-id 123456 --installation-id 7890123 --private-key-file app.private-key.pem',
    ],
    load: async () => (await import('../configure-command.ts')).configureCommand,
  },
];
