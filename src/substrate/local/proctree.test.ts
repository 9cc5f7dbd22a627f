import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { descendants, innerPid, isAlive, namespaceMembers, readStat, refOf } from './proctree.ts';

test('stat, identity by start time, descendants and namespace membership', async () => {
  const me = readStat(process.pid);
  assert.ok(me && me.ppid > 0 && me.startTime > 0);
  const ref = refOf(process.pid);
  assert.ok(ref && isAlive(ref));
  assert.equal(isAlive({ pid: process.pid, startTime: (ref?.startTime ?? 0) + 1 }), false, 'a recycled pid is not ours');
  assert.equal(innerPid(process.pid), process.pid);
  const child = spawn('sleep', ['5']);
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(descendants(process.pid).includes(child.pid as number));
    assert.ok(namespaceMembers(process.pid).includes(child.pid as number));
  } finally {
    child.kill('SIGKILL');
  }
});
