/**
 * `spec.network.enforcement: ebpf` end to end through bin/km (SPEC §3.5): with a root kmd
 * the BPF gatekeeper is attached (effective `ebpf`), the workload's non-loopback connects
 * fail with EPERM while the gateway still works, and each deny is an `ebpf.deny` event.
 * Non-loopback addresses are only attempted inside the sandbox's network namespace.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { localGatekeeperUnavailable } from '../../src/substrate/index.ts';
import { cannotRunSandboxes, lifecycleEnv, UPSTREAM_BODY, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes() ?? (process.getuid?.() !== 0 ? 'the BPF gatekeeper needs a root kmd' : localGatekeeperUnavailable());

const PROFILE = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: gated
spec:
  lifecycle: { ttl: "1h", idleTimeout: "1h", teardownPolicy: destroy }
  network:
    enforcement: ebpf
    egress:
      allowedHosts: ["allowed.test"]
`;

const TRY = String.raw`
import socket
for addr, kind in ((('10.9.9.9', 22), socket.SOCK_STREAM), (('10.9.9.9', 9999), socket.SOCK_DGRAM)):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.sendto(b'x', addr) if kind == socket.SOCK_DGRAM else s.connect(addr)
        print('ok')
    except OSError as e:
        print(e.strerror)
`;

test('enforcement: ebpf attaches the gatekeeper: EPERM for the workload, ebpf.deny events, gateway unaffected', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'gated.yaml');
  writeFileSync(file, PROFILE);
  const created = await e.km(['create', file, '--alias', 'gated']);
  assert.equal(created.code, 0, created.stderr);
  assert.doesNotMatch(created.stderr, /BPF unavailable|gatekeeper not attached/);

  const st = await e.json<SandboxJson & { enforcement: { requested: string; effective: string } }>(['status', 'gated']);
  assert.deepEqual(st.enforcement, { requested: 'ebpf', effective: 'ebpf' });

  const ok = await e.km(['exec', 'gated', '--', 'curl', '-sS', 'http://allowed.test/']);
  assert.deepEqual([ok.code, ok.stdout], [0, UPSTREAM_BODY], ok.stderr);
  const tried = await e.km(['exec', 'gated', '--', 'python3', '-c', TRY]);
  assert.equal(tried.stdout, 'Operation not permitted\nOperation not permitted\n', tried.stderr);

  const store = await openSqliteStore(join(e.home, 'km.db'), { clock: systemClock });
  try {
    const deadline = Date.now() + 5000;
    let denies: Array<Record<string, unknown>> = [];
    while (Date.now() < deadline && denies.length < 2) {
      denies = (await store.queryEvents({ sandboxId: st.id, types: ['ebpf.deny'] })).map((ev) => ev.detail as Record<string, unknown>);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(denies.some((d) => d.addr === '10.9.9.9' && d.port === 22 && d.proto === 'tcp' && d.op === 'connect'), JSON.stringify(denies));
    assert.ok(denies.some((d) => d.addr === '10.9.9.9' && d.port === 9999 && d.proto === 'udp' && d.op === 'sendmsg'), JSON.stringify(denies));
  } finally {
    await store.close();
  }
});
