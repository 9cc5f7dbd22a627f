import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../store/index.ts';
import { learnSessions, nextSessionId, openSession, pickSession } from './index.ts';

let seq = 0;
const ev = (eventType: string, timestampMs: number, detail: Record<string, unknown>, sandboxId = 'sb-00000001'): EventRecord => ({ seq: ++seq, timestampMs, sandboxId, eventType, source: 'cli', detail });
const sb = { id: 'sb-00000001', createdAtMs: 1000, learnMode: false };

test('explicit sessions pair started/stopped by id; the open one records', () => {
  const s = learnSessions(sb, [
    ev('learn.started', 2000, { session_id: 'ls-1', origin: 'cli' }),
    ev('learn.stopped', 3000, { session_id: 'ls-1' }),
    ev('learn.started', 4000, { session_id: 'ls-2', origin: 'shell' }),
    ev('learn.started', 4500, { session_id: 'ls-9' }, 'sb-other'),
  ]);
  assert.deepEqual(s, [
    { id: 'ls-1', startedAtMs: 2000, stoppedAtMs: 3000, origin: 'cli' },
    { id: 'ls-2', startedAtMs: 4000, stoppedAtMs: null, origin: 'shell' },
  ]);
  assert.equal(openSession(s)?.id, 'ls-2');
  assert.equal(nextSessionId(s), 'ls-3');
  assert.equal(pickSession(s)?.id, 'ls-2');
  assert.equal(pickSession(s, 'ls-1')?.stoppedAtMs, 3000);
  assert.equal(pickSession(s, 'ls-7'), undefined);
});

test('a learnMode profile has ls-1 from create; stopping it closes it, the next is ls-2', () => {
  const s = learnSessions({ ...sb, learnMode: true }, [ev('learn.stopped', 5000, { session_id: 'ls-1' }), ev('learn.stopped', 6000, { session_id: 'ls-1' })]);
  assert.deepEqual(s, [{ id: 'ls-1', startedAtMs: 1000, stoppedAtMs: 5000, origin: 'create' }]);
  assert.equal(openSession(s), undefined);
  assert.equal(nextSessionId(s), 'ls-2');
  assert.deepEqual(learnSessions(sb, []), []);
  assert.equal(nextSessionId([]), 'ls-1');
});
