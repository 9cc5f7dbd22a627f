import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { createRouter, isReply, reply, type PathParams } from './router.ts';

const noop = () => undefined;

test('matches literal routes and extracts typed path parameters', () => {
  const r = createRouter();
  r.add('GET', '/v1/sandboxes/:id/runs/:run', (req) => {
    const p: PathParams<'/v1/sandboxes/:id/runs/:run'> = req.params;
    return p;
  });
  r.add('GET', '/v1/health', noop);
  const m = r.match('GET', '/v1/sandboxes/sb-1234abcd/runs/20260101T000000Z');
  assert.equal(m.pattern, '/v1/sandboxes/:id/runs/:run');
  assert.deepEqual(m.params, { id: 'sb-1234abcd', run: '20260101T000000Z' });
  assert.equal(r.match('GET', '/v1/health').pattern, '/v1/health');
});

test('percent-decodes parameters and ignores a trailing slash', () => {
  const r = createRouter();
  r.add('GET', '/v1/profiles/:name', noop);
  assert.deepEqual(r.match('GET', '/v1/profiles/my%20profile/').params, { name: 'my profile' });
});

test('literal segments win over parameters regardless of registration order', () => {
  const r = createRouter();
  r.add('GET', '/v1/sandboxes/:id', noop);
  r.add('GET', '/v1/sandboxes/count', noop);
  assert.equal(r.match('GET', '/v1/sandboxes/count').pattern, '/v1/sandboxes/count');
  assert.equal(r.match('GET', '/v1/sandboxes/abc').pattern, '/v1/sandboxes/:id');
});

test('unknown path is not_found; known path with another method is 405 naming the allowed ones', () => {
  const r = createRouter();
  r.add('GET', '/v1/health', noop);
  r.add('POST', '/v1/sandboxes/:id', noop);
  r.add('DELETE', '/v1/sandboxes/:id', noop);
  assert.throws(() => r.match('GET', '/v1/nope'), (e: unknown) => e instanceof KmError && e.code === 'not_found' && /GET \/v1\/nope/.test(e.message));
  assert.throws(
    () => r.match('GET', '/v1/sandboxes/x'),
    (e: unknown) => e instanceof KmError && e.code === 'usage' && e.details?.http_status === 405 && e.hint === 'use POST or DELETE',
  );
});

test('rejects conflicting, malformed and duplicate-parameter patterns', () => {
  const r = createRouter();
  r.add('GET', '/v1/sandboxes/:id', noop);
  assert.throws(() => r.add('GET', '/v1/sandboxes/:other', noop), /conflicts/);
  assert.throws(() => r.add('GET', 'v1/x', noop), /must start/);
  assert.throws(() => r.add('GET', '/v1/:a/:a', noop), /duplicate parameter/);
  assert.throws(() => r.add('GET', '/v1/:a-b', noop), /bad parameter/);
  r.add('PUT', '/v1/sandboxes/:id', noop);
  assert.deepEqual(r.list().sort(), ['GET /v1/sandboxes/:id', 'PUT /v1/sandboxes/:id']);
});

test('reply() is recognised, plain values are not', () => {
  assert.equal(isReply(reply(201, { a: 1 })), true);
  assert.equal(isReply({ status: 201 }), false);
  assert.equal(isReply(null), false);
});
