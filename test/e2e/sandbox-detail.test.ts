/**
 * End-to-end: `km policy explain <sb>` against real sandboxes (SPEC §3.7), `km status` detail
 * (§8.5) and `km doctor`'s sandbox checks (§14.3) on real data.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createManualClock } from '../../src/core/clock.ts';
import { createSandboxCa } from '../../src/gateway/index.ts';
import { createLocalSubstrate } from '../../src/substrate/index.ts';
import { cannotRunSandboxes, lifecycleEnv, type SandboxJson } from './lifecycle-support.ts';

const skip = cannotRunSandboxes();

const PROFILE = `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: allowtest
spec:
  lifecycle: { ttl: "2h", idleTimeout: "1h", teardownPolicy: destroy }
  runtime: { instanceType: t3.small, mountEFS: true }
  network:
    egress:
      allowedHosts: ["allowed.test"]
`;

interface Explained {
  decision: string;
  host: string;
  rule: string;
  dns: { decision: string; rule: string };
}

interface Status extends SandboxJson {
  ca: { fingerprint_sha256: string; not_after: string; previous: unknown[] } | null;
  gateway: { open: boolean; allowed: number; denied: number; last_activity_at: string | null } | null;
  last_activity: { shell: string | null; exec: string | null; gateway: string | null; agent: string | null };
  active_runs: unknown[];
  learn: { recording: boolean; session_id: string | null };
  mounts: Array<{ host_path: string; path: string; read_only: boolean }>;
  limits: { cpus: number | null; memory_bytes: number | null; pids: number | null } | null;
}

test('policy explain by sandbox reference, status detail, doctor on real sandboxes', { skip: skip ?? false }, async (t) => {
  const e = await lifecycleEnv(t);
  const file = join(e.dir, 'allowtest.yaml');
  writeFileSync(file, PROFILE);
  // The alias "hardened" is also a built-in profile name: the sandbox reference wins.
  const sealed = await e.json<SandboxJson>(['create', 'sealed', '--alias', 'hardened']);
  const web = await e.json<SandboxJson>(['create', file, '--alias', 'web']);

  for (const ref of ['hardened', sealed.id, String(sealed.number)]) {
    const x = await e.json<Explained>(['policy', 'explain', ref, 'allowed.test']);
    assert.deepEqual([x.decision, x.rule, x.dns.decision], ['deny', 'default-deny', 'deny'], ref);
  }
  const human = await e.km(['policy', 'explain', 'web', 'allowed.test']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^ALLOW  allowed\.test:443\n {2}dns: {3}allow  spec\.network\.egress\.allowedHosts\[0\]\n/);
  const y = await e.json<Explained>(['policy', 'explain', web.id, 'http://allowed.test/x']);
  assert.deepEqual([y.decision, y.rule], ['allow', 'spec.network.egress.allowedHosts[0]']);
  // The profile name still names the built-in when no sandbox is called that.
  assert.equal((await e.json<Explained>(['policy', 'explain', 'open-dev', 'pypi.org'])).decision, 'allow');

  // The 403's hint is a command that works as written.
  const denied = await e.km(['exec', 'web', '--', 'curl', '-sS', 'http://denied.test/']);
  const body = JSON.parse(denied.stdout) as { hint: string };
  const check = /check with: (km policy explain \S+ \S+)/.exec(body.hint);
  assert.ok(check, body.hint);
  assert.match(check[1]!, new RegExp(`^km policy explain ${web.id} denied\\.test$`));
  const again = await e.km(check[1]!.replace(/^km /, '').split(' '));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^DENY {3}denied\.test:443\n {2}dns: {3}deny {3}default-deny\n/);
  assert.equal((await e.km(['exec', 'web', '--', 'curl', '-sS', 'http://allowed.test/'])).code, 0);

  const st = await e.json<Status>(['status', 'web']);
  assert.match(st.ca?.fingerprint_sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(st.ca?.previous, []);
  assert.ok(st.gateway && st.gateway.allowed >= 1 && st.gateway.denied >= 1, JSON.stringify(st.gateway));
  assert.ok(st.last_activity.exec && Date.parse(st.last_activity.exec) >= Date.parse(String(st.created_at)));
  assert.equal(st.last_activity.shell, null);
  assert.equal(st.last_activity.gateway, st.gateway.last_activity_at);
  assert.deepEqual([st.active_runs, st.learn], [[], { recording: false, session_id: null }]);
  assert.deepEqual(st.limits, { cpus: 2, memory_bytes: 2 * 1024 ** 3, pids: 4096 });
  assert.deepEqual(st.mounts.find((m) => m.path === '/shared'), { host_path: join(e.home, 'shared'), path: '/shared', read_only: false });
  const text = await e.km(['status', 'web']);
  assert.match(text.stdout, /^agent runs: +none active$/m);
  assert.match(text.stdout, /^limits: +2 cpu, 2048 MiB memory, 4096 pids$/m);
  assert.match(text.stdout, /^last activity: .*\(exec \S+, gateway \S+\)$/m);
  const every = await e.json<Status[]>(['status']);
  assert.deepEqual(every.map((s) => s.alias), ['hardened', 'web']);
  assert.ok(every.every((s) => s.ca !== null && 'learn' in s));

  // Kill the sealed sandbox's processes behind kmd's back: doctor reports them gone.
  const local = createLocalSubstrate({ kmHome: e.home });
  const info = await local.adopt(sealed.id, join(e.home, 'sandboxes', sealed.id));
  assert.ok(info.pid);
  process.kill(info.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  await local.close();
  const doc = await e.km(['doctor', '--json']);
  const checks = (JSON.parse(doc.stdout) as { checks: Array<{ name: string; status: string; message: string }> }).checks;
  const stale = checks.find((c) => c.name === 'stale-sandboxes');
  assert.equal(stale?.status, 'warn', JSON.stringify(stale));
  assert.match(stale?.message ?? '', new RegExp(`processes gone: ${sealed.id} \\(running, substrate: (stopped|missing)\\)`));
  assert.doesNotMatch(stale?.message ?? '', new RegExp(web.id));
  const ca = checks.find((c) => c.name === 'ca-expiry');
  assert.deepEqual([ca?.status, ca?.message], ['pass', '2 sandbox CA(s), none expiring within 7 days']);

  // A CA five days from expiry on disk (kmd renews at 14 days; it is not due to look yet).
  const old = await createSandboxCa(web.id, createManualClock(Date.now() - 85 * 86_400_000));
  writeFileSync(join(e.home, 'keys', web.id, 'ca.pem'), old.certPem);
  writeFileSync(join(e.home, 'keys', web.id, 'ca.key'), old.keyPem);
  const soon = (JSON.parse((await e.km(['doctor', '--json'])).stdout) as { checks: Array<{ name: string; status: string; message: string }> }).checks;
  const warned = soon.find((c) => c.name === 'ca-expiry');
  assert.equal(warned?.status, 'warn');
  assert.match(warned?.message ?? '', new RegExp(`^sandbox CA\\(s\\) expiring within 7 days: ${web.id} \\(expires ${old.notAfter.toISOString().slice(0, 10)}`));
  assert.equal((await e.json<Status>(['status', 'web'])).ca?.fingerprint_sha256, old.fingerprintSha256);
});
