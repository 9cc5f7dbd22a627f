/** Commands of the budget area: `km budget <sb>` and `km budget add <sb>` (SPEC §6.6). */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const budgetGroups: GroupSpec[] = [];

export const BUDGET_SHOW_SPEC: CommandSpec = {
  path: ['budget'],
  summary: "show a sandbox's budgets, spend and AI usage by model",
  description: [
    'Show limits, spend, percentage and state per dimension (AI, compute), the AI breakdown by provider',
    'and model (requests, tokens by kind, cost, pricing source), the compute rate and its source, running',
    'and paused time, the warning state and the price-table version. A sandbox without limits shows its',
    'spend and "no limit".',
    'Top up with: km budget add <sb> [--ai USD] [--compute USD]',
  ].join('\n'),
  json: true,
  // Parses its own line so that `km budget add` can be a subcommand of a command with arguments.
  rawArgs: true,
  args: [{ name: 'sb', required: true, complete: 'sandbox' }],
  examples: ['km budget demo', 'km budget demo --json | jq .ai.spent_usd'],
  load: async () => (await import('../budget-command.ts')).budgetShowCommand,
};

export const budgetCommands: CommandSpec[] = [
  BUDGET_SHOW_SPEC,
  {
    path: ['budget', 'add'],
    summary: 'raise a sandbox\'s AI and/or compute limits',
    description: [
      'Raise the limits by the amounts given (USD, positive). At least one of --ai and --compute.',
      'Afterwards a sandbox paused by its compute budget is resumed, the AI block lifts, and a warning',
      'fires again when spend reaches the threshold of the new limit. Works on locked sandboxes.',
      'A dimension without a limit cannot be topped up. Schedulable as: km at <when> budget-add <sb> …',
    ].join('\n'),
    json: true,
    args: [{ name: 'sb', required: true, complete: 'sandbox' }],
    options: [
      { name: 'ai', type: 'string', valueName: 'USD', description: 'add this many dollars to the AI limit' },
      { name: 'compute', type: 'string', valueName: 'USD', description: 'add this many dollars to the compute limit' },
    ],
    examples: ['km budget add demo --ai 5', 'km budget add demo --compute 1.50 --ai 2'],
    load: async () => (await import('../budget-command.ts')).budgetAddCommand,
  },
];
