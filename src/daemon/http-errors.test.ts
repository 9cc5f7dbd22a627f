import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KmError, type ErrorCode } from '../core/errors.ts';
import { STATUS_BY_CODE, errorFromPayload, toHttpError } from './http-errors.ts';

test('every error code maps to a 4xx/5xx status, user-input codes to 4xx', () => {
  for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
    assert.ok(status >= 400 && status <= 599, `${code} → ${status}`);
    if (new KmError(code as ErrorCode, 'x').exitCode === 2) assert.ok(status < 500, `${code} is user input but maps to ${status}`);
  }
  assert.equal(STATUS_BY_CODE.not_found, 404);
  assert.equal(STATUS_BY_CODE.sandbox_locked, 423);
  assert.equal(STATUS_BY_CODE.daemon_unavailable, 503);
});

test('a KmError becomes its status and body; a pinned http_status wins and is not leaked', () => {
  const e = toHttpError(new KmError('invalid_state', 'demo is paused', { hint: 'run km resume demo', details: { current_status: 'paused' } }));
  assert.equal(e.status, 409);
  assert.deepEqual(e.payload, { error: { code: 'invalid_state', message: 'demo is paused', hint: 'run km resume demo', details: { current_status: 'paused' } } });
  const pinned = toHttpError(new KmError('usage', 'too big', { details: { http_status: 413 } }));
  assert.equal(pinned.status, 413);
  assert.equal(pinned.payload.error.details, undefined);
});

test('an unexpected Error is internal (500) with the bug hint', () => {
  const e = toHttpError(new TypeError('x is undefined'));
  assert.equal(e.status, 500);
  assert.equal(e.payload.error.code, 'internal');
  assert.match(e.payload.error.hint ?? '', /bug/);
});

test('error payloads round-trip into an equal KmError; foreign payloads do not', () => {
  const original = new KmError('sandbox_locked', 'demo is locked', { hint: 'km unlock demo', details: { since: '2026-01-01T00:00:00Z' } });
  const back = errorFromPayload(JSON.parse(JSON.stringify(toHttpError(original).payload)));
  assert.ok(back instanceof KmError);
  assert.equal(back.code, 'sandbox_locked');
  assert.equal(back.message, 'demo is locked');
  assert.equal(back.hint, 'km unlock demo');
  assert.equal(back.exitCode, original.exitCode);
  assert.deepEqual(back.details, { since: '2026-01-01T00:00:00Z' });
  assert.equal(errorFromPayload({ error: { code: 'made_up', message: 'x' } }), undefined);
  assert.equal(errorFromPayload({ message: 'x' }), undefined);
  assert.equal(errorFromPayload('oops'), undefined);
});
