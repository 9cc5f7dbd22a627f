import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonical, mergeLayers, originOf } from './merge.ts';

const layer = (value: Record<string, unknown>, replace: string[] = []) => ({ value, replace: new Set(replace) });

test('structurally equal list items are merged once, whatever their key order', () => {
  const { value } = mergeLayers([
    layer({ rules: [{ host: 'a', allow: ['GET /'] }, 'x'] }),
    layer({ rules: [{ allow: ['GET /'], host: 'a' }, 'x', 1, '1'] }),
  ]);
  assert.deepEqual(value.rules, [{ host: 'a', allow: ['GET /'] }, 'x', 1, '1']);
  assert.equal(canonical({ b: 1, a: [true, null] }), canonical({ a: [true, null], b: 1 }));
  assert.notEqual(canonical(['1']), canonical([1]));
});

test('origins follow values into the merged document', () => {
  const { value, origins } = mergeLayers([
    layer({ spec: { hosts: ['a', 'b'], ttl: '1h', deep: { x: 1 } } }),
    layer({ spec: { hosts: ['c', 'a'], deep: { y: 2 } } }),
  ]);
  assert.deepEqual(value, { spec: { hosts: ['a', 'b', 'c'], ttl: '1h', deep: { x: 1, y: 2 } } });
  assert.deepEqual(originOf(origins, ['spec', 'hosts', 2]), { origin: { layer: 1, path: ['spec', 'hosts', 0] }, rest: [] });
  assert.deepEqual(originOf(origins, ['spec', 'ttl']), { origin: { layer: 0, path: ['spec', 'ttl'] }, rest: [] });
  assert.deepEqual(originOf(origins, ['spec', 'deep', 'x']), { origin: { layer: 0, path: ['spec', 'deep', 'x'] }, rest: [] });
  assert.deepEqual(originOf(origins, ['spec', 'deep', 'missing']), { origin: { layer: 1, path: ['spec', 'deep'] }, rest: ['missing'] });
});

test('!replace drops what earlier layers wrote, including their origins', () => {
  const { value, origins } = mergeLayers([
    layer({ spec: { github: { repos: ['a/b'], force: true } } }),
    layer({ spec: { github: { repos: ['c/d'] } } }, ['spec.github']),
  ]);
  assert.deepEqual(value, { spec: { github: { repos: ['c/d'] } } });
  assert.deepEqual(originOf(origins, ['spec', 'github', 'force']), { origin: { layer: 1, path: ['spec', 'github'] }, rest: ['force'] });
});

test('a "__proto__" key stays an ordinary key', () => {
  const v = JSON.parse('{"spec": {"__proto__": {"polluted": true}}}') as Record<string, unknown>;
  const { value } = mergeLayers([layer(v), layer(JSON.parse('{"spec": {"__proto__": {"more": 1}}}'))]);
  const spec = value.spec as Record<string, unknown>;
  assert.ok(Object.hasOwn(spec, '__proto__'));
  assert.equal((spec as { polluted?: unknown }).polluted, undefined);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
});
