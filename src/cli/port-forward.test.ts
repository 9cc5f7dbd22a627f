import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { KmError } from '../core/errors.ts';
import { parsePorts } from './port-forward.ts';

test('--ports takes H:S pairs and single ports, comma separated', () => {
  assert.deepEqual(parsePorts('8080:80'), [{ host: 8080, sandbox: 80 }]);
  assert.deepEqual(parsePorts('8080:80, 5432'), [{ host: 8080, sandbox: 80 }, { host: 5432, sandbox: 5432 }]);
  assert.deepEqual(parsePorts('65535:1'), [{ host: 65535, sandbox: 1 }]);
});

test('bad --ports values are usage errors naming the part', () => {
  const cases: Array<[string, RegExp]> = [
    ['0', /"0" is not a port/],
    ['70000:80', /"70000" is not a port/],
    ['8080:', /"" is not a port/],
    ['a:80', /"a" is not a port/],
    ['1:2:3', /"1:2:3" is not H:S/],
    [':80', /":80" is not H:S/],
    ['8080:80,8080:81', /host port 8080 is given twice/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parsePorts(text), (e: unknown) => e instanceof KmError && e.code === 'usage' && re.test(e.message), text);
  }
});

test('a host port in use is refused before the shell starts', async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const { startPortForwards } = await import('./port-forward.ts');
  const deps = { substrate: {} as never, sandboxId: 'sb-00000000', activity: () => undefined, warn: () => undefined };
  await assert.rejects(startPortForwards(deps, [{ host: port, sandbox: 80 }]), (e: unknown) => e instanceof KmError && e.message === `--ports: 127.0.0.1:${port} is in use`);
});
