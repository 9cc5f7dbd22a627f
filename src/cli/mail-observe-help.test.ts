/** Every example in the help of km email, km identity, km logs and km otel parses against the command table. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mailCommands } from './commands/mail.ts';
import { observeCommands } from './commands/observe.ts';
import { parseOptions, resolveCommand } from './parse.ts';
import { buildTable } from './table.ts';

/** Shell words of one example line (quotes, no expansions); stops at the first pipe's left side. */
function words(line: string): string[] {
  const left = line.includes(' | ') ? line.slice(line.lastIndexOf(' | ') + 3) : line;
  return [...left.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

test('help examples of the mail and observability commands name real commands and flags', () => {
  const table = buildTable();
  const examples = [...mailCommands, ...observeCommands].flatMap((c) => (c.examples ?? []).map((e) => [c.path.join(' '), e] as const));
  assert.ok(examples.length >= 12);
  for (const [path, example] of examples) {
    const argv = words(example);
    assert.equal(argv[0], 'km', example);
    const r = resolveCommand(table, argv.slice(1));
    assert.equal(r.spec?.path.join(' '), path, example);
    const parsed = parseOptions(r.spec!, r.remaining);
    const flags = argv.filter((w) => /^--[a-z]/.test(w) && w !== '--json').map((w) => w.slice(2));
    assert.deepEqual(flags.filter((f) => parsed.opts[f] === undefined), [], `${example}: every flag was parsed`);
  }
});

test('every flag of these commands is documented in help and has a description', () => {
  for (const c of [...mailCommands, ...observeCommands]) {
    for (const o of c.options ?? []) assert.ok(o.description.length > 5, `${c.path.join(' ')} --${o.name}`);
    assert.equal(c.json, true, `${c.path.join(' ')} reports data and takes --json`);
  }
});
