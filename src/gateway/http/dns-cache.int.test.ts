/**
 * The gateway's TTL cache over its own upstream lookups: with a counting fake lookup and a
 * manual clock, then with c-ares (`Resolver#resolve4` with TTLs) against a loopback DNS
 * server, and through the HTTP gateway (two CONNECTs to one name, one query).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { createManualClock } from '../../core/clock.ts';
import { startFakeUpstream } from '../dns/test-upstream.ts';
import { createDnsCache, type TtlAnswer } from './dns-cache.ts';
import { startGateway, testPolicy } from './test-fixtures.ts';

function countingLookup(table: Record<string, TtlAnswer[] | Error>): { lookup: (n: string) => Promise<TtlAnswer[]>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (name) => {
      asked.push(name);
      const r = table[name];
      if (r instanceof Error) throw r;
      return r ?? [];
    },
  };
}

test('answers are kept for their shortest TTL, capped, per lowercase name; failures, empty answers and TTL 0 are asked again', async () => {
  const clock = createManualClock(1_000_000);
  const { lookup, asked } = countingLookup({
    'a.example.test': [{ address: '192.0.2.1', ttl: 60 }, { address: '192.0.2.2', ttl: 30 }],
    'long.example.test': [{ address: '192.0.2.3', ttl: 86_400 }],
    'zero.example.test': [{ address: '192.0.2.4', ttl: 0 }],
    'empty.example.test': [],
    'bad.example.test': Object.assign(new Error('queryA ESERVFAIL bad.example.test'), { code: 'ESERVFAIL' }),
  });
  const { resolve } = createDnsCache(lookup, clock, { maxTtlS: 300 });
  assert.deepEqual(await resolve('a.example.test'), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(await resolve('A.Example.Test.'), ['192.0.2.1', '192.0.2.2']);
  clock.advance(29_999);
  assert.deepEqual(await resolve('a.example.test'), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(asked, ['a.example.test']);
  clock.advance(1);
  await resolve('a.example.test');
  assert.deepEqual(asked, ['a.example.test', 'a.example.test']);

  await resolve('long.example.test');
  clock.advance(299_999);
  await resolve('long.example.test');
  assert.equal(asked.filter((n) => n === 'long.example.test').length, 1);
  clock.advance(1);
  await resolve('long.example.test');
  assert.equal(asked.filter((n) => n === 'long.example.test').length, 2, 'the 300 s cap');

  for (const name of ['zero.example.test', 'empty.example.test']) {
    await resolve(name);
    await resolve(name);
    assert.equal(asked.filter((n) => n === name).length, 2, name);
  }
  await assert.rejects(resolve('bad.example.test'), /ESERVFAIL/);
  await assert.rejects(resolve('bad.example.test'), /ESERVFAIL/);
  assert.equal(asked.filter((n) => n === 'bad.example.test').length, 2);
});

test('seeded answers are used like looked-up ones, under the same rules', async () => {
  const clock = createManualClock(0);
  const { lookup, asked } = countingLookup({ 'seeded.test': [{ address: '192.0.2.30', ttl: 60 }] });
  const cache = createDnsCache(lookup, clock);
  cache.seed('Seeded.Test.', [{ address: '192.0.2.31', ttl: 10 }, { address: '192.0.2.32', ttl: 20 }]);
  assert.deepEqual(await cache.resolve('seeded.test'), ['192.0.2.31', '192.0.2.32']);
  assert.deepEqual(asked, []);
  clock.advance(10_000);
  assert.deepEqual(await cache.resolve('seeded.test'), ['192.0.2.30']);
  cache.seed('zero.test', [{ address: '192.0.2.33', ttl: 0 }]);
  cache.seed('none.test', []);
  await cache.resolve('zero.test');
  await cache.resolve('none.test');
  assert.deepEqual(asked, ['seeded.test', 'zero.test', 'none.test']);
});

test('concurrent lookups of one name share one query; the oldest name goes when the cache is full', async () => {
  const clock = createManualClock(0);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const asked: string[] = [];
  const { resolve } = createDnsCache(async (name) => {
    asked.push(name);
    await gate;
    return [{ address: '192.0.2.9', ttl: 60 }];
  }, clock, { maxNames: 2 });
  const all = Promise.all([resolve('x.test'), resolve('X.test'), resolve('x.test.')]);
  release();
  assert.deepEqual(await all, [['192.0.2.9'], ['192.0.2.9'], ['192.0.2.9']]);
  assert.deepEqual(asked, ['x.test']);
  await resolve('y.test');
  await resolve('z.test'); // x.test is the oldest: dropped
  await resolve('y.test');
  await resolve('x.test');
  assert.deepEqual(asked, ['x.test', 'y.test', 'z.test', 'x.test']);
  // Full again, but z.test has expired: it goes, and y.test (older, still fresh) stays.
  asked.length = 0;
  const short = createDnsCache(async (name) => (asked.push(name), [{ address: '192.0.2.8', ttl: name === 'z.test' ? 1 : 60 }]), clock, { maxNames: 2 });
  await short.resolve('y.test');
  await short.resolve('z.test');
  clock.advance(1_000);
  await short.resolve('w.test');
  await short.resolve('y.test');
  await short.resolve('z.test');
  assert.deepEqual(asked, ['y.test', 'z.test', 'w.test', 'z.test']);
});

test('with c-ares against a DNS server: the TTL on the wire decides how long an answer is kept', async (t) => {
  const up = await startFakeUpstream();
  t.after(() => up.close());
  up.records.set('api.example.test', [{ type: 'A', data: '192.0.2.10', ttl: 20 }]);
  const clock = createManualClock(0);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${up.port}`]);
  const { resolve } = createDnsCache((name) => resolver.resolve4(name, { ttl: true }), clock);
  assert.deepEqual(await resolve('api.example.test'), ['192.0.2.10']);
  assert.deepEqual(await resolve('api.example.test'), ['192.0.2.10']);
  assert.equal(up.asked.filter((n) => n === 'api.example.test').length, 1);
  clock.advance(20_000);
  up.records.set('api.example.test', [{ type: 'A', data: '192.0.2.11', ttl: 20 }]);
  assert.deepEqual(await resolve('api.example.test'), ['192.0.2.11']);
  assert.equal(up.asked.filter((n) => n === 'api.example.test').length, 2);
  await assert.rejects(resolve('missing.example.test'), /ENOTFOUND/);
});

test('two CONNECTs to one name through the gateway: one DNS query, both tunnels reach the host', async (t) => {
  const up = await startFakeUpstream();
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const port = (echo.address() as AddressInfo).port;
  up.records.set('echo.example.test', [{ type: 'A', data: '127.0.0.1', ttl: 60 }]);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${up.port}`]);
  const clock = createManualClock(0);
  // The echo server is on loopback, which the test policy's destination check refuses: allowed here.
  const policy = { ...testPolicy({ 'echo.example.test': { ports: [port] } }), isDestinationAllowed: () => ({ allow: true }) };
  const g = await startGateway(policy, {}, undefined, {}, {
    resolve: createDnsCache((name) => resolver.resolve4(name, { ttl: true }), clock).resolve,
  });
  t.after(async () => {
    await g.close();
    echo.close();
    await up.close();
  });
  for (const word of ['first', 'second']) {
    const s = netConnect({ port: g.port, host: '127.0.0.1' });
    t.after(() => s.destroy());
    s.write(`CONNECT echo.example.test:${port} HTTP/1.1\r\nHost: echo.example.test:${port}\r\n\r\n`);
    let got = '';
    await new Promise<void>((resolve, reject) => {
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.startsWith('HTTP/1.1 200') && got.endsWith(word)) resolve();
        else if (got.includes('\r\n\r\n') && !got.startsWith('HTTP/1.1 200')) reject(new Error(got));
        else if (got.endsWith('\r\n\r\n')) s.write(word);
      });
    });
    s.destroy();
  }
  assert.equal(up.asked.filter((n) => n === 'echo.example.test').length, 1);
});
