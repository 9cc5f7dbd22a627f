/** `km shell --ports`: host 127.0.0.1:H reaches a server listening inside the sandbox while the shell is open. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { cannotRunSandboxes, KM, lifecycleEnv } from './lifecycle-support.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('km shell --ports forwards host ports into the sandbox while the shell is open', { timeout: 120_000 }, async (t) => {
  const why = cannotRunSandboxes();
  if (why) return t.skip(why);
  const e = await lifecycleEnv(t);
  const made = await e.km(['create', 'sealed', '--alias', 'fwd']);
  assert.equal(made.code, 0, made.stderr);
  const hostPort = await freePort();
  const sh = spawn(KM, ['shell', 'fwd', '--ports', `${hostPort}:8000`], { env: e.env, cwd: e.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => sh.kill('SIGKILL'));
  let out = '';
  let err = '';
  sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
  sh.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // A server inside the sandbox (loopback of the sandbox's own network namespace).
  sh.stdin.write('mkdir -p /tmp/www && echo "served inside $(hostname)" > /tmp/www/hello.txt\n');
  // Its own background job with its output elsewhere, so the shell's pipes close when it exits.
  sh.stdin.write('cd /tmp/www; python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 </dev/null &\n');
  sh.stdin.write('for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null && break; sleep 0.1; done; echo READY\n');
  const deadline = Date.now() + 30_000;
  while (!out.includes('READY') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(out, /READY/, err);
  assert.match(err, new RegExp(`forwarding 127\\.0\\.0\\.1:${hostPort} -> 8000`));
  const r = await get(hostPort, '/hello.txt');
  assert.equal(r.status, 200);
  assert.match(r.body, /^served inside /);
  // Two connections at once are two relays.
  const both = await Promise.all([get(hostPort, '/hello.txt'), get(hostPort, '/missing')]);
  assert.deepEqual(both.map((x) => x.status), [200, 404]);
  sh.stdin.end('kill %1; exit 7\n');
  const code = await new Promise<number | null>((r) => sh.on('close', r));
  assert.equal(code, 7);
  // The listener is gone with the shell.
  await assert.rejects(get(hostPort, '/hello.txt'), /ECONNREFUSED/);
});
