import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmError } from '../core/errors.ts';
import { parseOptions, resolveCommand, type Table } from './parse.ts';
import type { CommandSpec } from './spec.ts';

const noop = async () => ({ run: async () => 0 });
const create: CommandSpec = {
  path: ['create'],
  summary: 'create',
  args: [{ name: 'profile', required: true }],
  options: [
    { name: 'alias', type: 'string', description: 'alias' },
    { name: 'ttl', type: 'string', description: 'ttl' },
    { name: 'prompt', type: 'string', multiple: true, description: 'prompt' },
    { name: 'yes', short: 'y', type: 'boolean', description: 'yes' },
    { name: 'substrate', type: 'string', choices: ['local', 'docker'], description: 's' },
  ],
  load: noop,
};
const show: CommandSpec = { path: ['profile', 'show'], summary: 'show', args: [{ name: 'p', required: true }], load: noop };
const destroy: CommandSpec = { path: ['destroy'], aliases: ['kill'], summary: 'd', args: [{ name: 'sb', required: true }], load: noop };
const exec: CommandSpec = { path: ['exec'], summary: 'e', args: [{ name: 'sb', required: true }], passthrough: true, load: noop };
const table: Table = { commands: [create, show, destroy, exec], groups: [{ path: ['profile'], summary: 'profiles' }] };

const usage = (re: RegExp) => (e: unknown) => e instanceof KmError && e.code === 'usage' && e.exitCode === 2 && re.test(e.message);

test('resolves nested commands, aliases and global flags anywhere', () => {
  const r = resolveCommand(table, ['--json', 'profile', 'show', 'x', '--debug']);
  assert.equal(r.spec, show);
  assert.deepEqual(r.remaining, ['x']);
  assert.equal(r.global.json, true);
  assert.equal(r.global.debug, true);
  assert.equal(resolveCommand(table, ['kill', 'demo']).spec, destroy);
  assert.equal(resolveCommand(table, ['profile']).group?.path[0], 'profile');
});

test('unknown command suggests the nearest one', () => {
  assert.throws(() => resolveCommand(table, ['craete']), (e: unknown) => e instanceof KmError && /unknown command "craete"/.test(e.message) && /create/.test(e.hint ?? ''));
});

test('flags: forms, repeats, choices and errors', () => {
  const p = parseOptions(create, ['learn', '--alias=demo', '--ttl', '2h', '--prompt', 'a', '--prompt', 'b', '-y']);
  assert.deepEqual(p.args, ['learn']);
  assert.deepEqual(p.opts, { alias: 'demo', ttl: '2h', prompt: ['a', 'b'], yes: true });
  assert.throws(() => parseOptions(create, ['learn', '--tl', '2h']), (e: unknown) => e instanceof KmError && /--tl/.test(e.message) && /--ttl/.test(e.hint ?? ''));
  assert.throws(() => parseOptions(create, ['learn', '--alias']), usage(/needs a value/));
  assert.throws(() => parseOptions(create, ['learn', '--alias', 'a', '--alias', 'b']), usage(/more than once/));
  assert.throws(() => parseOptions(create, ['learn', '--substrate', 'ec9']), usage(/expected one of local, docker/));
  assert.throws(() => parseOptions(create, []), usage(/missing argument <profile>/));
  assert.throws(() => parseOptions(create, ['a', 'b']), usage(/unexpected argument "b"/));
});

test('passthrough keeps everything after -- verbatim', () => {
  const p = parseOptions(exec, ['demo', '--', 'sh', '-c', 'echo --alias']);
  assert.deepEqual(p.args, ['demo']);
  assert.deepEqual(p.rest, ['sh', '-c', 'echo --alias']);
});

test('a command that parses its own line can have subcommands named by the next word', () => {
  const at: CommandSpec = { path: ['at'], aliases: ['schedule'], summary: 'at', rawArgs: true, load: noop };
  const list: CommandSpec = { path: ['at', 'list'], summary: 'list', options: [{ name: 'all', type: 'boolean', description: 'all' }], load: noop };
  const t2: Table = { commands: [at, list], groups: [] };
  const sub = resolveCommand(t2, ['schedule', '--json', 'list', '--all']);
  assert.equal(sub.spec, list);
  assert.deepEqual(sub.path, ['at', 'list']);
  assert.deepEqual(sub.remaining, ['--all']);
  assert.equal(sub.global.json, true);
  // Anything else stays the raw line of the parent, including a later "list".
  const raw = resolveCommand(t2, ['at', 'in 2 hours', 'list', '--dry-run']);
  assert.equal(raw.spec, at);
  assert.deepEqual(raw.remaining, ['in 2 hours', 'list', '--dry-run']);
});
