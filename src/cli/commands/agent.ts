/** Agent runs (SPEC §10): run, attach, results, list, cancel. */
import type { ArgSpec, CommandSpec, GroupSpec } from '../spec.ts';

export const agentGroups: GroupSpec[] = [{ path: ['agent'], summary: 'run Claude Code, Codex or Goose headless in a sandbox' }];

const sb: ArgSpec = { name: 'sb', required: true, complete: 'sandbox' };
const runOpt = { name: 'run', type: 'string', valueName: 'ID', description: 'the run (default: the newest)' } as const;

const lazy = (name: string) => async () => (await import('../agent-commands.ts'))[name as keyof typeof import('../agent-commands.ts')];

export const agentCommands: CommandSpec[] = [
  {
    path: ['agent', 'run'],
    summary: 'start an agent run in a sandbox',
    description:
      'Runs the agent in a detached tmux session inside the sandbox (it survives this command exiting). The prompt is\n' +
      'handed to the agent as one argument, never parsed by a shell. Without --wait prints the run ID; with --wait\n' +
      'prints the agent\'s JSON result plus a "km" object. Exit codes with --wait: 0 succeeded, 1 failed,\n' +
      '3 budget_exhausted, 4 timed_out, 5 cancelled, 2 usage.',
    args: [sb],
    options: [
      { name: 'prompt', type: 'string', valueName: 'TEXT', description: 'the prompt' },
      { name: 'prompt-file', type: 'string', valueName: 'F', description: 'read the prompt from a file (- = stdin)' },
      { name: 'wait', type: 'boolean', description: 'wait for the result and print it' },
      { name: 'interactive', type: 'boolean', description: 'attach the terminal to the run\'s session' },
      { name: 'auto-start', type: 'boolean', description: 'resume the sandbox first when it is paused or stopped' },
      { name: 'claude', type: 'boolean', description: 'run Claude Code (default: the profile\'s cli.agent)' },
      { name: 'codex', type: 'boolean', description: 'run Codex' },
      { name: 'goose', type: 'boolean', description: 'run Goose' },
      { name: 'no-bedrock', type: 'boolean', description: 'no Bedrock settings for this run (claude, goose)' },
      { name: 'run-timeout', type: 'string', valueName: 'D', description: 'end the run after this long (default 8h)' },
    ],
    json: true,
    passthrough: true,
    examples: [
      'km agent run demo --prompt "run the tests and fix what fails" --wait',
      'km agent run demo --prompt-file task.md',
      'km agent run demo --codex --prompt "summarise the repo" --wait | jq .result',
      'km agent run demo --prompt "review" -- --model claude-sonnet-4-5',
    ],
    load: lazy('agentRunCommand'),
  },
  {
    path: ['agent', 'attach'],
    summary: 'attach the terminal to a run\'s tmux session (detach with C-b d)',
    args: [sb],
    options: [{ ...runOpt, description: 'the run (default: the newest running, else the newest)' }],
    examples: ['km agent attach demo', 'km agent attach demo --run 20270303T081502Z'],
    load: lazy('agentAttachCommand'),
  },
  {
    path: ['agent', 'results'],
    aliases: ['result'],
    summary: 'print a run\'s result as JSON',
    args: [sb],
    options: [runOpt],
    json: true,
    examples: ['km agent results demo | jq .result', 'km agent result demo --run 20270303T081502Z'],
    load: lazy('agentResultsCommand'),
  },
  {
    path: ['agent', 'list'],
    summary: 'list a sandbox\'s agent runs',
    args: [sb],
    json: true,
    examples: ['km agent list demo', 'km agent list demo --json'],
    load: lazy('agentListCommand'),
  },
  {
    path: ['agent', 'cancel'],
    summary: 'cancel a run (SIGINT, then SIGTERM, then kill)',
    args: [sb],
    options: [{ ...runOpt, description: 'the run (default: the newest running)' }],
    json: true,
    examples: ['km agent cancel demo', 'km agent cancel demo --run 20270303T081502Z'],
    load: lazy('agentCancelCommand'),
  },
];
