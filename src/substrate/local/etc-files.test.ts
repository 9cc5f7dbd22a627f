import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sandboxEnv, writeEtcFiles } from './etc-files.ts';
import { statePaths } from './layout.ts';

test('km variables win over a profile env of the same name', () => {
  const env = sandboxEnv({ env: { HTTP_PROXY: 'http://evil', FOO: '1', PATH: '/custom' }, shell: '/bin/zsh', hostname: 'h' }, false);
  assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:3128');
  assert.equal(env.FOO, '1');
  assert.equal(env.PATH, '/custom');
  assert.equal(env.HOME, '/home/sandbox');
  assert.equal(sandboxEnv({ env: {}, shell: '/bin/sh', hostname: 'h' }, true).HOME, '/root');
});

test('etc files: uid 1000 collisions replaced by sandbox, km.internal, resolver, bundle = roots + CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'km-etc-'));
  try {
    const base = join(dir, 'base');
    mkdirSync(join(base, 'etc/ssl/certs'), { recursive: true });
    writeFileSync(join(base, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    writeFileSync(join(base, 'etc/group'), 'root:x:0:\nalice:x:1000:\n');
    writeFileSync(join(base, 'etc/ssl/certs/ca-certificates.crt'), 'ROOTS');
    const p = statePaths(join(dir, 'state'));
    mkdirSync(p.etc, { recursive: true });
    mkdirSync(p.ca, { recursive: true });
    writeEtcFiles(p, { baseDir: base, hostname: 'demo', shell: '/bin/bash', caPem: 'CA' });
    const passwd = readFileSync(join(p.etc, 'passwd'), 'utf8');
    assert.ok(!passwd.includes('alice') && passwd.includes('sandbox:x:1000:1000:km sandbox:/home/sandbox:/bin/bash'));
    assert.match(readFileSync(join(p.etc, 'group'), 'utf8'), /^sandbox:x:1000:$/m);
    assert.match(readFileSync(join(p.etc, 'hosts'), 'utf8'), /^127\.0\.0\.2\tkm\.internal$/m);
    assert.equal(readFileSync(join(p.etc, 'resolv.conf'), 'utf8').split('\n')[0], 'nameserver 127.0.0.1');
    assert.equal(readFileSync(join(p.ca, 'bundle.pem'), 'utf8'), 'ROOTS\nCA\n');
    assert.equal(readFileSync(join(p.ca, 'km-sandbox.crt'), 'utf8'), 'CA\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
