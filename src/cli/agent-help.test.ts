/** Every example in the help of km agent parses against the command table; the table matches SPEC §10. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentCommands } from './commands/agent.ts';
import { renderRuns } from './agent-render.ts';
import { parseOptions, resolveCommand } from './parse.ts';
import { buildTable } from './table.ts';

const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

test('help examples of km agent name real commands and flags', () => {
  const table = buildTable();
  const examples = agentCommands.flatMap((c) => (c.examples ?? []).map((e) => [c.path.join(' '), e] as const));
  assert.ok(examples.length >= 8);
  for (const [path, example] of examples) {
    const all = words(example);
    const argv = all.includes('|') ? all.slice(0, all.indexOf('|')) : all;
    assert.equal(argv[0], 'km', example);
    const r = resolveCommand(table, argv.slice(1));
    assert.equal(r.spec?.path.join(' '), path, example);
    const parsed = parseOptions(r.spec!, r.remaining);
    const dashdash = argv.indexOf('--');
    const own = dashdash < 0 ? argv : argv.slice(0, dashdash);
    const flags = own.filter((w) => /^--[a-z]/.test(w) && w !== '--json').map((w) => w.slice(2));
    assert.deepEqual(flags.filter((f) => parsed.opts[f] === undefined), [], `${example}: every flag was parsed`);
    if (dashdash >= 0) assert.deepEqual(parsed.rest, argv.slice(dashdash + 1), example);
  }
});

test('agent commands: the §10 set, results has the alias result, reporting commands take --json', () => {
  const table = buildTable();
  assert.deepEqual(agentCommands.map((c) => c.path.join(' ')).sort(), ['agent attach', 'agent cancel', 'agent list', 'agent results', 'agent run']);
  assert.equal(resolveCommand(table, ['agent', 'result', 'demo']).spec?.path.join(' '), 'agent results');
  for (const c of agentCommands.filter((x) => x.path[1] !== 'attach')) assert.equal(c.json, true, c.path.join(' '));
  const run = agentCommands.find((c) => c.path[1] === 'run')!;
  assert.deepEqual(run.options?.map((o) => o.name), ['prompt', 'prompt-file', 'wait', 'interactive', 'auto-start', 'claude', 'codex', 'goose', 'no-bedrock', 'run-timeout']);
  assert.equal(run.passthrough, true);
});

test('km agent list: columns, start in the operator\'s zone, prompt cut to 40 characters, cost from the stored result', () => {
  const base = { sandboxId: 'sb-1', agent: 'claude', statusReason: null, exitCode: 0, createdAtMs: 0 };
  const out = renderRuns([
    { ...base, runId: '20270303T081502Z', status: 'succeeded', prompt: 'run the tests\nand fix   what fails, then open a pull request please', startedAtMs: Date.parse('2027-03-03T08:15:02Z'), endedAtMs: Date.parse('2027-03-03T08:15:50Z'), result: { km: { usage: { cost_usd: 0.0381 } } } },
    { ...base, runId: '20270303T081503Z', status: 'running', prompt: 'short', startedAtMs: Date.parse('2027-03-03T08:15:03Z'), endedAtMs: null, exitCode: null, result: null },
  ], Date.parse('2027-03-03T08:17:03Z'), 'Europe/Berlin');
  assert.equal(out, [
    'RUN ID            AGENT   STATUS     STARTED           DURATION  COST     PROMPT',
    '20270303T081502Z  claude  succeeded  2027-03-03 09:15  48s       $0.0381  run the tests and fix what fails, then…',
    '20270303T081503Z  claude  running    2027-03-03 09:15  2m        -        short',
    '',
  ].join('\n'));
});
