import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { assertCreatable, durationSeconds, instanceSpec, profileInvalidError, type ResolvedProfile } from './index.ts';

test('instance types know vCPU and memory for hibernation and local limits', () => {
  assert.deepEqual(instanceSpec('t3.medium'), { vcpu: 2, memoryGiB: 4 });
  assert.deepEqual(instanceSpec('t3a.large'), { vcpu: 2, memoryGiB: 8 });
  assert.deepEqual(instanceSpec('m5.2xlarge'), { vcpu: 8, memoryGiB: 32 });
  assert.deepEqual(instanceSpec('c6i.xlarge'), { vcpu: 4, memoryGiB: 8 });
  assert.deepEqual(instanceSpec('r7i.large'), { vcpu: 2, memoryGiB: 16 });
  assert.equal(instanceSpec('p4d.24xlarge'), undefined);
  assert.equal(instanceSpec('nonsense'), undefined);
});

test('durationSeconds reads validated durations', () => {
  assert.equal(durationSeconds('1d12h'), 129_600);
  assert.equal(durationSeconds('0'), 0);
  assert.throws(() => durationSeconds('90x'));
});

test('abstract fragments cannot be created', () => {
  const base = { name: 'frag', file: '/p/frag.yaml', sources: [], substrate: 'local' } as unknown as ResolvedProfile;
  assert.throws(
    () => assertCreatable({ ...base, abstract: true }),
    (e: unknown) => e instanceof KmError && e.code === 'profile_invalid' && /abstract fragment/.test(e.message),
  );
  assert.doesNotThrow(() => assertCreatable({ ...base, abstract: false }));
});

test('profileInvalidError names the first problem and carries all of them', () => {
  const d = (line: number, message: string) => ({ file: 'p.yaml', line, col: 3, path: 'spec.x', message, severity: 'error' as const });
  const e = profileInvalidError('p.yaml', [d(4, 'first'), d(9, 'second')]);
  assert.equal(e.code, 'profile_invalid');
  assert.equal(e.exitCode, 2);
  assert.equal(e.message, 'profile p.yaml is invalid: p.yaml:4:3: spec.x: first (and 1 more)');
  assert.equal((e.details?.errors as unknown[]).length, 2);
  assert.equal(profileInvalidError('q', [{ ...d(0, 'no such file'), path: '' }]).message, 'profile q is invalid: p.yaml: no such file');
});
