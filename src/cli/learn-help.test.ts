/** Every example in the help of km learn (and km shell --learn) parses against the command table. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learnCommands } from './commands/learn.ts';
import { sandboxCommands } from './commands/sandbox.ts';
import { parseOptions, resolveCommand } from './parse.ts';
import { buildTable } from './table.ts';

const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

test('help examples of km learn and km shell --learn name real commands and flags', () => {
  const table = buildTable();
  const shell = sandboxCommands.filter((c) => c.path.join(' ') === 'shell');
  const examples = [...learnCommands, ...shell].flatMap((c) => (c.examples ?? []).map((e) => [c.path.join(' '), e] as const));
  assert.ok(examples.some(([, e]) => e.includes('--learn')));
  for (const [path, example] of examples) {
    const argv = words(example);
    assert.equal(argv[0], 'km', example);
    const r = resolveCommand(table, argv.slice(1));
    assert.equal(r.spec?.path.join(' '), path, example);
    const parsed = parseOptions(r.spec!, r.remaining);
    const flags = argv.filter((w) => /^--[a-z]/.test(w) && w !== '--json').map((w) => w.slice(2));
    assert.deepEqual(flags.filter((f) => parsed.opts[f] === undefined), [], `${example}: every flag was parsed`);
    if (argv.includes('-o')) assert.equal(typeof parsed.opts.output, 'string', example);
  }
});

test('every learn command reports data with --json, and every flag is described', () => {
  for (const c of learnCommands) {
    assert.equal(c.json, true, c.path.join(' '));
    for (const o of c.options ?? []) assert.ok(o.description.length > 5, `${c.path.join(' ')} --${o.name}`);
  }
});
