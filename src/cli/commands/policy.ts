/** Commands of the policy area: `km policy explain` (SPEC §3.7). */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const policyGroups: GroupSpec[] = [{ path: ['policy'], summary: 'explain egress decisions' }];

export const policyCommands: CommandSpec[] = [
  {
    path: ['policy', 'explain'],
    summary: 'show the decision and the rule for a destination',
    description:
      'Evaluate a profile\'s compiled egress policy for a host, host:port or URL without sending anything.\n' +
      'Shows the decision, the matching rule (or default-deny), whether DNS would resolve the name,\n' +
      'whether the host is intercepted and why, pathRules for URLs, and for GitHub URLs the repository\n' +
      'check (with --method POST on a receive-pack URL, what pushes may update).\n' +
      'A bare host is checked on port 443. Exit 0 for either decision.\n' +
      '\n' +
      'The first argument is, in this order: an existing profile file (a path with a slash or a\n' +
      '.yaml/.yml name), a sandbox (id, alias or number; its stored resolved profile and the gateway\n' +
      'settings it runs with, so the hint of a 403 can be re-checked), or a profile name from the\n' +
      'search paths or the built-ins. Write ./name.yaml to force a file.',
    args: [
      { name: 'profile|sb', required: true, complete: 'profile' },
      { name: 'host|url', required: true },
    ],
    options: [{ name: 'method', type: 'string', valueName: 'M', description: 'HTTP method for URL checks (default GET)' }],
    json: true,
    examples: [
      'km policy explain hardened api.anthropic.com',
      'km policy explain profiles/learn.yaml https://pypi.org/simple/',
      'km policy explain goose https://github.com/my-org/api.git/git-receive-pack --method POST --json',
    ],
    load: async () => (await import('../policy-explain.ts')).policyExplainCommand,
  },
];
