/**
 * `privileged: true` (SPEC §9.3): a password-less `sudo` inside the sandbox that runs as root
 * of the sandbox through kmd (no setuid binary); absent otherwise. Login shells keep km's
 * tools on PATH.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cannotRunSandboxes, checkoutHiddenInSandboxes, lifecycleEnv } from './lifecycle-support.ts';

const profile = (privileged: boolean) => `apiVersion: klankermaker.ai/v1alpha1
kind: SandboxProfile
metadata:
  name: ${privileged ? 'priv' : 'plain'}
spec:
  lifecycle: { ttl: "1h", idleTimeout: "30m", teardownPolicy: destroy }
  execution:
    privileged: ${privileged}
  network:
    egress: { allowedDNSSuffixes: [], allowedHosts: [] }
`;

const skip = cannotRunSandboxes() ?? checkoutHiddenInSandboxes();

test('sudo runs commands as root of the sandbox in privileged sandboxes only', { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const e = await lifecycleEnv(t);
  await writeFile(join(e.dir, 'priv.yaml'), profile(true));
  await writeFile(join(e.dir, 'plain.yaml'), profile(false));
  for (const [file, alias] of [['priv.yaml', 'priv'], ['plain.yaml', 'plain']] as const) {
    const made = await e.km(['create', file, '--alias', alias as string]);
    assert.equal(made.code, 0, made.stderr);
  }
  const whoami = await e.km(['exec', 'priv', '--', 'sh', '-c', 'id -u; sudo id -u; sudo -u root sh -c "id -un; echo to-stderr >&2; exit 3"']);
  assert.equal(whoami.stdout, '1000\n0\nroot\n');
  assert.equal(whoami.stderr, 'to-stderr\n');
  assert.equal(whoami.code, 3, 'the exit code is the command\'s');

  // Root of the sandbox: may write system paths of its own layer; stdin is passed; cwd kept.
  const write = await e.km(['exec', 'priv', '--', 'sh', '-c', 'cd /workspace && printf "a b\\n" | sudo tee /etc/km-sudo-test >/dev/null && cat /etc/km-sudo-test && sudo pwd && ls -l /etc/km-sudo-test']);
  assert.equal(write.code, 0, write.stderr);
  assert.match(write.stdout, /^a b\n\/workspace\n-rw-r--r-- 1 root root 4 /);
  // …but never more than that: file-ownership capabilities (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID), no mount.
  const limits = await e.km(['exec', 'priv', '--', 'sh', '-c', 'sudo grep CapEff /proc/self/status; sudo mount -t tmpfs x /mnt; echo mount=$?']);
  assert.match(limits.stdout, /CapEff:\s+00000000000000fb\n/);
  assert.match(limits.stdout, /mount=(1|32)\n/);

  // Standard input is streamed: a large input arrives whole, and an input that never ends does
  // not hold up a command that does not read it (an agent's tool may leave stdin open).
  const big = await e.km(['exec', 'priv', '--', 'sh', '-c', 'head -c 3000000 /dev/zero | sudo wc -c']);
  assert.equal(big.stdout.trim(), '3000000', big.stderr);
  const t0 = Date.now();
  const open = await e.km(['exec', 'priv', '--', 'sh', '-c', 'mkfifo /tmp/never && exec 3<>/tmp/never && sudo id -u <&3; echo rc=$?']);
  assert.equal(open.stdout, '0\nrc=0\n', open.stderr);
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);

  // Interactive forms are refused with a pointer to the operator command.
  const shell = await e.km(['exec', 'priv', '--', 'sudo', '-i']);
  assert.equal(shell.code, 1);
  assert.match(shell.stderr, /km shell --root/);

  // Not privileged: there is no sudo, and kmd refuses the call even if the script is copied in.
  const none = await e.km(['exec', 'plain', '--', 'sh', '-c', 'command -v sudo || echo absent']);
  assert.equal(none.stdout, 'absent\n');
  const forced = await e.km(['exec', 'plain', '--', 'sh', '-c', 'printf \'{"argv_b64":["aWQ="]}\\n\' | curl -sS --noproxy "*" --data-binary @- http://km.internal/sudo']);
  assert.match(forced.stdout, /sudo is not enabled in this sandbox/);
  assert.doesNotMatch(forced.stdout, /uid=0/);

  // Login shells (km shell) have km's tools on PATH.
  const login = await e.km(['exec', 'priv', '--', 'bash', '-lc', 'command -v sudo km-mail']);
  assert.equal(login.stdout, '/opt/km/sudo/sudo\n/opt/km/bin/km-mail\n', login.stderr);

  // Each sudo call is a command event with the argv.
  const logs = await e.km(['logs', 'priv', '--json']);
  assert.equal(logs.code, 0, logs.stderr);
  const sudoEvents = logs.stdout.split('\n').filter((l) => l.includes('"source":"sudo"'));
  assert.ok(sudoEvents.some((l) => l.includes('"tee"')), logs.stdout.slice(0, 2000));
});
