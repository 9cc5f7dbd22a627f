/**
 * The native splice relay (native/km-relay.c through native-relay.ts) on real loopback TCP and
 * unix sockets: order of the caller's bytes, bulk integrity both ways at once, half-close,
 * idle timeout, close, resets, and what it refuses to take. Each case runs with splice and with
 * the read/write fallback.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { loadAddon } from '../../native/index.ts';
import { createNativeRelay, stopReading, type NativeRelay, type RelayEnd } from './native-relay.ts';

const addon = loadAddon<Parameters<typeof createNativeRelay>[0]>('km-relay');
const skip = 'reason' in addon ? addon.reason : false;

/** Two connected sockets: `[near, far]` (near: what the gateway holds; far: the peer). */
async function pair(unixDir?: string): Promise<[Socket, Socket]> {
  // Half-open both ways: the peers decide when to end (Node would end a side on EOF).
  const server = createServer({ allowHalfOpen: true });
  const path = unixDir ? join(unixDir, `s${Math.random().toString(36).slice(2)}.sock`) : undefined;
  await new Promise<void>((r) => (path ? server.listen(path, r) : server.listen(0, '127.0.0.1', r)));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const addr = server.address();
  const far = path ? connect({ path, allowHalfOpen: true }) : connect({ port: (addr as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((r, j) => far.once('connect', r).once('error', j));
  const near = await accepted;
  server.close();
  return [near, far];
}

interface Tunnel {
  /** The client's end (talks to A) and the upstream's end (talks to B). */
  client: Socket;
  upstream: Socket;
  id: number | null;
  ended: Promise<{ aToB: number; bToA: number; end: RelayEnd }>;
}

async function tunnel(relay: NativeRelay, opts: { toA?: Buffer; toB?: Buffer; idleMs?: number; unixDir?: string } = {}): Promise<Tunnel> {
  const [a, client] = await pair(opts.unixDir);
  const [b, upstream] = await pair(opts.unixDir);
  let done!: (v: { aToB: number; bToA: number; end: RelayEnd }) => void;
  const ended = new Promise<{ aToB: number; bToA: number; end: RelayEnd }>((r) => (done = r));
  const id = relay.take(a, b, opts.toA ?? Buffer.alloc(0), opts.toB ?? Buffer.alloc(0), opts.idleMs ?? 0, (aToB, bToA, end) => done({ aToB, bToA, end }));
  return { client, upstream, id, ended };
}

const readAll = (s: Socket): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const readWrite of [false, true]) {
  describe(`native relay (${readWrite ? 'read/write' : 'splice'})`, { skip }, () => {
    const make = (): NativeRelay => createNativeRelay((addon as { addon: Parameters<typeof createNativeRelay>[0] }).addon, { readWrite });
    /** A test body with a fresh relay, closed afterwards whatever happens. */
    const withRelay = (body: (relay: NativeRelay) => Promise<void>) => async (): Promise<void> => {
      const relay = make();
      try {
        await body(relay);
      } finally {
        await relay.close();
      }
    };

    test('the caller\'s bytes go first each way; 8 MiB each way at once arrive intact; counts are what was delivered', withRelay(async (relay) => {
      const toA = Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n');
      const toB = Buffer.from('peeked-client-hello');
      const t = await tunnel(relay, { toA, toB });
      assert.notEqual(t.id, null);
      assert.equal(relay.size, 1);
      const up = randomBytes(8 << 20);
      const down = randomBytes(8 << 20);
      const gotAtUpstream = readAll(t.upstream);
      const gotAtClient = readAll(t.client);
      t.client.end(up);
      t.upstream.end(down);
      const [u, d] = await Promise.all([gotAtUpstream, gotAtClient]);
      assert.equal(sha(u), sha(Buffer.concat([toB, up])));
      assert.equal(sha(d), sha(Buffer.concat([toA, down])));
      const r = await t.ended;
      assert.deepEqual(r, { aToB: toB.length + up.length, bToA: toA.length + down.length, end: 'eof' });
      assert.equal(relay.size, 0);
    }));

    test('half-close: EOF from the client ends writing to the upstream only; the answer still flows back', withRelay(async (relay) => {
      const t = await tunnel(relay);
      const atUpstream = readAll(t.upstream);
      t.client.end('request');
      assert.equal((await atUpstream).toString(), 'request');
      const atClient = readAll(t.client);
      t.upstream.write('answer after the client finished');
      await new Promise((r) => setTimeout(r, 50));
      t.upstream.end();
      assert.equal((await atClient).toString(), 'answer after the client finished');
      assert.deepEqual(await t.ended, { aToB: 7, bToA: 32, end: 'eof' });
    }));

    test('unix stream sockets relay as TCP ones do', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'km-relay-'));
      const relay = make();
      try {
        const t = await tunnel(relay, { unixDir: dir });
        const data = randomBytes(1 << 20);
        const got = readAll(t.upstream);
        t.client.end(data);
        assert.equal(sha(await got), sha(data));
        t.upstream.end();
        assert.equal((await t.ended).aToB, data.length);
      } finally {
        await relay.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a tunnel with no byte either way for idleMs is closed (idle); one with traffic is not', withRelay(async (relay) => {
      const quiet = await tunnel(relay, { idleMs: 150 });
      const busy = await tunnel(relay, { idleMs: 150 });
      busy.upstream.resume();
      const timer = setInterval(() => busy.client.write('x'), 30);
      const closed = new Promise<void>((r) => quiet.client.once('end', () => r()).once('error', () => r()));
      quiet.client.resume();
      quiet.client.on('error', () => undefined);
      const r = await quiet.ended;
      clearInterval(timer);
      assert.equal(r.end, 'idle');
      await closed;
      assert.equal(relay.size, 1, 'the busy tunnel is still open');
      busy.client.destroy();
      busy.upstream.destroy();
      assert.notEqual((await busy.ended).end, 'idle');
    }));

    test('a reset on one side closes the other; closeTunnel and close end the rest as closed', withRelay(async (relay) => {
      const reset = await tunnel(relay);
      reset.client.on('error', () => undefined);
      reset.upstream.on('error', () => undefined);
      const clientClosed = new Promise<void>((r) => reset.client.once('end', () => r()).once('error', () => r()));
      reset.client.resume();
      reset.upstream.resetAndDestroy();
      assert.equal((await reset.ended).end, 'error');
      await clientClosed;

      const one = await tunnel(relay);
      const two = await tunnel(relay);
      for (const s of [one.client, one.upstream, two.client, two.upstream]) s.on('error', () => undefined);
      relay.closeTunnel(one.id!);
      assert.equal((await one.ended).end, 'closed');
      await relay.close();
      assert.equal((await two.ended).end, 'closed');
      assert.equal(relay.size, 0);
      const again = await pair();
      assert.equal(relay.take(again[0], again[1], Buffer.alloc(0), Buffer.alloc(0), 0, () => undefined), null, 'a closed relay takes nothing');
      for (const s of again) s.destroy();
    }));

    test('bytes Node had read but not delivered move along, ahead of the rest', withRelay(async (relay) => {
      const [a, client] = await pair();
      const [b, upstream] = await pair();
      a.pause();
      client.write('already-buffered;');
      await new Promise((r) => setTimeout(r, 30));
      a.read(0); // Node reads the bytes into the stream's buffer, undelivered
      await new Promise((r) => setImmediate(r));
      let ended!: (n: number) => void;
      const done = new Promise<number>((r) => (ended = r));
      assert.notEqual(relay.take(a, b, Buffer.alloc(0), Buffer.from('first;'), 0, (ab) => ended(ab)), null);
      const got = readAll(upstream);
      client.end('then-the-rest');
      assert.equal((await got).toString(), 'first;already-buffered;then-the-rest');
      upstream.end();
      assert.equal(await done, 'first;already-buffered;then-the-rest'.length);
    }));

    test('refuses what it cannot take (not a socket, or writes still queued), leaving the streams alone', withRelay(async (relay) => {
      const [a, client] = await pair();
      const fake = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
      assert.equal(relay.take(a, fake, Buffer.alloc(0), Buffer.alloc(0), 0, () => undefined), null);
      assert.equal(a.destroyed, false);
      const got = new Promise<string>((r) => a.once('data', (d: Buffer) => r(d.toString())));
      client.write('still Node\'s');
      assert.equal(await got, 'still Node\'s');
      a.destroy();
      client.destroy();
    }));
  });
}

/** Pipes this process holds (the relay's are the only ones a tunnel adds). */
function pipeCount(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:')) n++;
    } catch {
      // the directory's own descriptor, closed by now
    }
  }
  return n;
}

const openFileLimit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);

describe('native relay without descriptors for its pipes', { skip: skip || (openFileLimit > 65_536 ? `open-file limit ${openFileLimit} too high to exhaust` : false) }, () => {
  test('a tunnel whose pipes cannot be made relays by read/write instead, its first bytes already sent', async () => {
    // The addon itself, so that no descriptor is freed between `open` and the thread's set-up
    // (the NativeRelay closes Node's descriptors right after `open`).
    const raw = (addon as { addon: Parameters<typeof createNativeRelay>[0] }).addon;
    let ended!: (v: [number, number, number, number]) => void;
    const endOf = new Map<number, (v: [number, number, number, number]) => void>();
    const handle = raw.create((id, aToB, bToA, reason) => endOf.get(id)?.([id, aToB, bToA, reason]), 256 * 1024, 0);
    const fillers: number[] = [];
    const sockets: Socket[] = [];
    const fdOf = (s: Socket): number => (s as Socket & { _handle: { fd: number } })._handle.fd;
    const take = (a: Socket, b: Socket, toB: Buffer): number => {
      assert.equal(stopReading(a).length + stopReading(b).length, 0, 'nothing buffered in Node');
      return raw.open(handle, fdOf(a), fdOf(b), toB, null, 0, 0);
    };
    try {
      // A normal tunnel adds a pipe per direction (and starts the thread).
      const before = pipeCount();
      const [wa, wc] = await pair();
      const [wb, wu] = await pair();
      sockets.push(wa, wc, wb, wu);
      endOf.set(take(wa, wb, Buffer.alloc(0)), () => {});
      wc.write('w'); // relayed by the thread, so the tunnel is set up
      await new Promise((r) => wu.once('data', r));
      assert.equal(pipeCount() - before, 4, 'a spliced tunnel holds a pipe per direction');

      const [a, client] = await pair();
      const [b, upstream] = await pair();
      sockets.push(a, client, b, upstream);
      const base = pipeCount();
      // Every descriptor taken but the two the relay duplicates.
      for (;;) {
        try {
          fillers.push(openSync('/dev/null', 'r'));
        } catch {
          break;
        }
      }
      closeSync(fillers.pop()!);
      closeSync(fillers.pop()!);
      const first = Buffer.from('client-hello;');
      const done = new Promise<[number, number, number, number]>((r) => (ended = r));
      endOf.set(take(a, b, first), ended);
      assert.equal((await new Promise<Buffer>((r) => upstream.once('data', r))).toString(), 'client-hello;');
      // The thread relays, so it has set the tunnel up: now give the descriptors back.
      client.write('x');
      assert.equal((await new Promise<Buffer>((r) => upstream.once('data', r))).toString(), 'x');
      for (const fd of fillers.splice(0)) closeSync(fd);
      assert.equal(pipeCount(), base, 'no pipes: this tunnel moves its bytes by read/write');
      a.destroy();
      b.destroy();
      const up = randomBytes(1 << 20);
      const down = randomBytes(1 << 20);
      const atUpstream = readAll(upstream);
      const atClient = readAll(client);
      client.end(up);
      upstream.end(down);
      assert.equal(sha(await atUpstream), sha(up));
      assert.equal(sha(await atClient), sha(down));
      const [, aToB, bToA, reason] = await done;
      assert.deepEqual({ aToB, bToA, reason }, { aToB: first.length + 1 + up.length, bToA: down.length, reason: 0 });
    } finally {
      for (const fd of fillers) closeSync(fd);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => {
        endOf.set(0, () => r());
        raw.stop(handle);
      });
    }
  });
});

/** How many of this process's threads are named km-relay (each thread's comm in /proc/self/task). */
const relayThreads = (): number =>
  readdirSync('/proc/self/task').filter((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'km-relay';
    } catch {
      return false; // the thread ended between the listing and the read
    }
  }).length;

describe('native relay thread', { skip }, () => {
  test('is named km-relay (top -H, /proc/PID/task/*/comm), starts with the first tunnel and ends with close', async () => {
    const before = relayThreads();
    const relay = createNativeRelay((addon as { addon: Parameters<typeof createNativeRelay>[0] }).addon);
    assert.equal(relayThreads(), before, 'no thread before the first tunnel');
    const t = await tunnel(relay);
    try {
      assert.notEqual(t.id, null);
      t.client.write('ping');
      assert.equal((await new Promise<Buffer>((r) => t.upstream.once('data', r))).toString(), 'ping');
      assert.equal(relayThreads(), before + 1);
    } finally {
      t.client.destroy();
      t.upstream.destroy();
      await relay.close();
    }
    // close() resolves on the thread's last message; the join follows when it lets go of it.
    const deadline = Date.now() + 5_000;
    while (relayThreads() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(relayThreads(), before, 'the thread ends after close');
  });
});
