/** Audit log and telemetry (SPEC §13): km logs, km otel. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const observeGroups: GroupSpec[] = [];

const lazy = (name: string) => async () => (await import('../observe-commands.ts'))[name as keyof typeof import('../observe-commands.ts')];

export const observeCommands: CommandSpec[] = [
  {
    path: ['logs'],
    summary: 'show a sandbox\'s audit log (works for destroyed sandboxes during retention)',
    args: [{ name: 'sb', required: true, complete: 'sandbox' }],
    options: [
      { name: 'follow', short: 'f', type: 'boolean', description: 'keep printing new events until interrupted' },
      { name: 'since', type: 'string', valueName: 'D|ISO', description: 'only events since a duration ago (2h) or a time (RFC 3339)' },
      { name: 'type', type: 'string', multiple: true, valueName: 'T', description: 'only this event type (repeatable; lifecycle.* for a family)' },
      { name: 'limit', type: 'string', valueName: 'N', description: 'only the newest N events' },
    ],
    json: true,
    examples: ['km logs demo', 'km logs demo -f --type dns.query --type http.request', 'km logs 2 --since 2h --json'],
    load: lazy('logsCommand'),
  },
  {
    path: ['otel'],
    summary: 'agent telemetry and spend (all sandboxes without <sb>)',
    description:
      'Without a view: ledger spend by model, telemetry received, and the agent\'s self-reported cost next to the ledger.\n' +
      'Views (choose one): --prompts, --events, --tools, --timeline. Without <sb>: spend across sandboxes.',
    args: [{ name: 'sb', complete: 'sandbox' }],
    options: [
      { name: 'prompts', type: 'boolean', description: 'user prompts with time and session' },
      { name: 'events', type: 'boolean', description: 'prompts, API requests, tool decisions and results in order' },
      { name: 'tools', type: 'boolean', description: 'tool calls by session: duration, result size, key parameter, failures' },
      { name: 'timeline', type: 'boolean', description: 'turns grouped by prompt with per-turn and total cost' },
      { name: 'since', type: 'string', valueName: 'D|ISO', description: 'only data since a duration ago or a time' },
    ],
    json: true,
    examples: ['km otel', 'km otel demo', 'km otel demo --timeline', 'km otel demo --tools --json'],
    load: lazy('otelCommand'),
  },
];
