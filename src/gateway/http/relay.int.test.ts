/**
 * Tunnels through the gateway with each relay: the native splice relay (the default where it
 * builds) and Node's pipe relay (relay: 'node', the fallback). Same bytes, same half-close
 * behaviour, same byte counts in the events; the stats say which relay moved them.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadAddon } from '../../native/index.ts';
import { BIG, sha256, startGateway, testPolicy, waitForEvent, type TestGateway } from './test-fixtures.ts';

const native = loadAddon('km-relay');

/** A TCP origin speaking a tiny protocol: it answers with the sha256 of all it got, then ends. */
async function hashOrigin(): Promise<{ port: number; close(): void }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(`${sha256(Buffer.concat(chunks))}\n${BIG.subarray(0, 300_000).toString('base64')}`));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

async function connectTunnel(port: number, target: string): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  while (!buf.includes('\r\n\r\n')) buf = Buffer.concat([buf, await new Promise<Buffer>((r) => socket.once('data', r))]);
  socket.pause();
  const end = buf.indexOf('\r\n\r\n') + 4;
  assert.match(buf.subarray(0, end).toString(), /^HTTP\/1\.1 200 /);
  return { socket, rest: buf.subarray(end) };
}

for (const relay of ['native', 'node'] as const) {
  describe(`gateway tunnels, ${relay} relay`, { skip: relay === 'native' && 'reason' in native ? native.reason : false }, () => {
    let g: TestGateway;
    let origin: { port: number; close(): void };
    before(async () => {
      origin = await hashOrigin();
      g = await startGateway(testPolicy({ 'bytes.example.test': { ports: [7000] } }), { 'bytes.example.test': `127.0.0.1:${origin.port}` }, undefined, { relay });
    });
    after(async () => {
      await g.close();
      origin.close();
    });

    test('opaque bytes both ways with half-close; the event counts exactly what each side got; stats name the relay', async () => {
      const before = g.gw.stats();
      const { socket, rest } = await connectTunnel(g.port, 'bytes.example.test:7000');
      const chunks: Buffer[] = [rest];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise<void>((r) => socket.once('end', () => r()));
      socket.resume();
      // Not TLS, not HTTP: the gateway classifies the first bytes as opaque and tunnels them.
      const payload = Buffer.concat([Buffer.from([0, 1, 2, 3]), BIG]);
      socket.end(payload);
      await ended;
      const got = Buffer.concat(chunks).toString();
      const expected = `${sha256(payload)}\n${BIG.subarray(0, 300_000).toString('base64')}`;
      assert.equal(got, expected);
      socket.destroy();
      const e = await waitForEvent(g.events, (x) => x.event_type === 'http.connect' && x.detail.host === 'bytes.example.test' && x.detail.status === 200);
      assert.equal(e.detail.bytes_up, payload.length);
      assert.equal(e.detail.bytes_down, expected.length);
      const s = g.gw.stats();
      assert.equal(s.tunnels - before.tunnels, 1);
      assert.equal(s.relayed - before.relayed, relay === 'native' ? 1 : 0);
    });

    test('an upstream reset closes the client side; the gateway keeps serving', async () => {
      const reset = createServer((s) => s.once('data', () => s.resetAndDestroy()));
      await new Promise<void>((r) => reset.listen(0, '127.0.0.1', r));
      const port = (reset.address() as { port: number }).port;
      const g2 = await startGateway(testPolicy({ 'reset.example.test': { ports: [7001] } }), { 'reset.example.test': `127.0.0.1:${port}` }, undefined, { relay });
      try {
        const { socket } = await connectTunnel(g2.port, 'reset.example.test:7001');
        // The gateway ends the client side (FIN or RST) once the upstream is gone.
        const closed = new Promise<void>((r) => socket.once('end', () => r()).once('close', () => r()));
        socket.on('error', () => undefined);
        socket.resume();
        socket.write(Buffer.from([0, 9, 9, 9]));
        await closed;
        const again = await connectTunnel(g2.port, 'reset.example.test:7001');
        again.socket.destroy();
        const e = await waitForEvent(g2.events, (x) => x.event_type === 'http.connect' && x.detail.status === 200);
        assert.equal(e.detail.bytes_up, 4);
      } finally {
        await g2.close();
        reset.close();
      }
    });
  });
}
