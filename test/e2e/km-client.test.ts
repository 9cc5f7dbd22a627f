/**
 * The native client (native/km-client.c) end to end: bin/km with a real kmd and real local
 * sandboxes. `km create | exec | list | status` are served without the Node CLI (KM_CLIENT=debug
 * says on stderr whenever the client hands a command to it), and what they print is what the
 * Node CLI (KM_CLIENT=0) prints for the same command. Where kmd cannot serve a command, the
 * client hands it over before doing anything, and the result is the Node CLI's.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { installedHelper } from '../../src/native/index.ts';
import { cannotRunSandboxes, lifecycleEnv, UPSTREAM_BODY, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? (installedHelper('km-client') ? null : 'km-client is not built (run ./setup with a C compiler)');
const FELL_BACK = /km-client: running the Node CLI/;
const NATIVE = { KM_CLIENT: 'debug' };
const NODE = { KM_CLIENT: '0' };

const PROFILE = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: clienttest
spec:
  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy }
  execution:
    env: { GREETING: "hi" }
  network:
    egress:
      allowedHosts: ["allowed.test"]
`;

/** Fields that change from one second to the next. */
function stable(s: SandboxJson): Record<string, unknown> {
  const { ttl_remaining_s: _t, idle_remaining_s: _i, age_s: _a, last_activity: _l, ...rest } = s as SandboxJson & Record<string, unknown>;
  return rest;
}

test('km-client serves create, exec, list and status itself, with the Node CLI output, and hands over what kmd cannot serve', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'clienttest.yaml');
  writeFileSync(file, PROFILE);
  // kmd is not running yet: the client hands over, and the Node CLI starts it.
  const first = await e.km(['create', file, '--alias', 'one'], NATIVE);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, FELL_BACK);
  assert.match(first.stdout, /^Created sb-[0-9a-f]{8} \(one, #1\) from clienttest on local; expires in 2h00m\n$/);

  const created = await e.km(['create', file, '--alias', 'two'], NATIVE);
  assert.equal(created.code, 0, created.stderr);
  assert.doesNotMatch(created.stderr, FELL_BACK);
  assert.match(created.stdout, /^Created sb-[0-9a-f]{8} \(two, #2\) from clienttest on local; expires in 2h00m\n$/);
  assert.match(created.stderr, /building the sandbox on local/);

  const ran = await e.km(['exec', 'two', '--', 'sh', '-c', 'cat; echo "$GREETING" >&2; exit 3'], NATIVE, 'from stdin\n');
  assert.doesNotMatch(ran.stderr, FELL_BACK);
  assert.deepEqual([ran.code, ran.stdout, ran.stderr], [3, 'from stdin\n', 'hi\n']);
  const viaNode = await e.km(['exec', 'two', '--', 'sh', '-c', 'cat; echo "$GREETING" >&2; exit 3'], NODE, 'from stdin\n');
  assert.deepEqual([viaNode.code, viaNode.stdout, viaNode.stderr], [ran.code, ran.stdout, ran.stderr]);

  const gw = await e.km(['exec', '2', '--', 'curl', '-sS', 'http://allowed.test/'], NATIVE);
  assert.doesNotMatch(gw.stderr, FELL_BACK);
  assert.deepEqual([gw.code, gw.stdout], [0, UPSTREAM_BODY]);
  const missing = await e.km(['exec', 'two', '--', 'no-such-program-here'], NATIVE);
  assert.equal(missing.code, 127, missing.stderr);

  for (const args of [['list'], ['list', '--wide'], ['status', 'two']]) {
    const [n, o] = [await e.km(args, NATIVE), await e.km(args, NODE)];
    assert.doesNotMatch(n.stderr, FELL_BACK, args.join(' '));
    assert.equal(n.code, 0, n.stderr);
    // Ages and TTLs may tick between the two runs: compare with digits masked.
    const mask = (s: string): string => s.replace(/\d+/g, '#');
    assert.equal(mask(n.stdout), mask(o.stdout), args.join(' '));
  }
  const [listN, listO] = [await e.km(['list', '--json'], NATIVE), await e.km(['list', '--json'], NODE)];
  assert.doesNotMatch(listN.stderr, FELL_BACK);
  assert.deepEqual((JSON.parse(listN.stdout) as SandboxJson[]).map(stable), (JSON.parse(listO.stdout) as SandboxJson[]).map(stable));
  const [stN, stO] = [await e.km(['status', 'one', '--json'], NATIVE), await e.km(['status', 'one', '--json'], NODE)];
  assert.deepEqual(stable(JSON.parse(stN.stdout) as SandboxJson), stable(JSON.parse(stO.stdout) as SandboxJson));

  // An unknown reference and a bad profile: the same error and exit code as the Node CLI.
  for (const args of [['status', 'nope'], ['exec', 'nope', '--', 'true'], ['create', join(e.dir, 'missing.yaml')]]) {
    const [n, o] = [await e.km(args, { KM_CLIENT: '' }), await e.km(args, NODE)];
    assert.notEqual(n.code, 0, args.join(' '));
    assert.deepEqual([n.code, n.stdout, n.stderr], [o.code, o.stdout, o.stderr], args.join(' '));
  }

  // A stopped sandbox cannot be exec'd by kmd's plan: handed over, and the Node CLI says why.
  assert.equal((await e.km(['stop', 'one'])).code, 0);
  const [stoppedN, stoppedO] = [await e.km(['exec', 'one', '--', 'true'], NATIVE), await e.km(['exec', 'one', '--', 'true'], NODE)];
  assert.match(stoppedN.stderr, FELL_BACK);
  assert.equal(stoppedN.code, stoppedO.code);
  assert.equal(stoppedN.stderr.replace(/^km-client: .*\n/m, ''), stoppedO.stderr);
  assert.notEqual(stoppedO.code, 0);
});
