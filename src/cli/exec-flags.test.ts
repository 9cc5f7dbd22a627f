/** The native client parses `km exec`'s flags itself: they must be exactly the command table's. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { nativeHelper } from '../native/index.ts';
import { sandboxCommands } from './commands/sandbox.ts';
import { GLOBAL_OPTIONS } from './global.ts';

const built = nativeHelper('km-client');

test('km-client --flags exec lists the exec flags of the command table, no more and no fewer', { skip: 'reason' in built ? built.reason : false }, () => {
  const out = execFileSync((built as { path: string }).path, ['--flags', 'exec'], { encoding: 'utf8' });
  const spec = sandboxCommands.find((c) => c.path.join(' ') === 'exec');
  assert.ok(spec?.passthrough, 'exec takes -- argv');
  const expected = (spec.options ?? []).map((o) => `${o.name}\t${o.short ? `-${o.short}` : '-'}\t${o.type}\t${o.multiple ? 'multiple' : 'single'}`);
  assert.deepEqual(out.trimEnd().split('\n').sort(), expected.sort());
  assert.deepEqual((spec.args ?? []).map((a) => [a.name, a.required === true, a.variadic === true]), [['sb', true, false]], 'one required reference');
  // km-client falls back on every global flag; the list it checks must hold all of them.
  const src = execFileSync('grep', ['-o', 'GLOBAL_FLAGS\\[\\] = {[^}]*}', new URL('../../native/km-client.c', import.meta.url).pathname], { encoding: 'utf8' });
  for (const g of GLOBAL_OPTIONS) {
    assert.ok(src.includes(`"--${g.name}"`), `--${g.name}`);
    if (g.short) assert.ok(src.includes(`"-${g.short}"`), `-${g.short}`);
  }
});
