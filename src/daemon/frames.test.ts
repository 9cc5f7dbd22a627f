import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { decodeList, decodeText, encodeBytes, encodeList, envOfList, firstFrame, frameChannel, type Frame } from './frames.ts';

test('lists: NUL-terminated items in base64 round-trip, empty items and the empty list stay distinct', () => {
  for (const items of [[], [''], ['a', ''], ['exec', 'demo', '--', 'sh', '-c', 'echo "$X" ü 🐧']]) {
    assert.deepEqual(decodeList(encodeList(items)), items);
  }
  assert.notEqual(encodeList([]), encodeList(['']));
  assert.equal(Buffer.from(encodeList(['ab', 'c']), 'base64').toString('latin1'), 'ab\0c\0');
});

test('decoding refuses what is not base64 or not a NUL-terminated list; invalid UTF-8 becomes U+FFFD', () => {
  assert.equal(decodeText('not base64!'), null);
  assert.equal(decodeText('abc'), null, 'length not a multiple of 4');
  assert.equal(decodeText(42), null);
  assert.equal(decodeList(encodeBytes('no terminator')), null);
  assert.equal(decodeText(Buffer.from([0x66, 0xff, 0x6f]).toString('base64')), 'f\ufffdo');
});

test('environment blocks: split at the first =, entries without one skipped', () => {
  assert.deepEqual(envOfList(['A=1', 'B=x=y', 'EMPTY=', 'junk', '=lead']), { A: '1', B: 'x=y', EMPTY: '' });
});

/** A channel over a stream that records what the channel writes to the client. */
function pair(head = Buffer.alloc(0), limit?: number) {
  const socket = new PassThrough();
  const written: string[] = [];
  socket.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof socket.write;
  return { socket, written, ch: frameChannel(socket, head, limit) };
}

test('frames: the head and split chunks make whole lines, queued until a listener comes, in order', async () => {
  const { socket, ch } = pair(Buffer.from('{"t":"a","n":1}\n{"t":'));
  socket.emit('data', Buffer.from('"b"}\n{"t":"c"'));
  socket.emit('data', Buffer.from('}\n'));
  const seen: Frame[] = [];
  const first = await firstFrame(ch, 1000);
  ch.onFrame((f) => seen.push(f));
  assert.deepEqual(first, { t: 'a', n: 1 });
  assert.deepEqual(seen.map((f) => f.t), ['b', 'c'], 'nothing after the first frame is lost');
});

test('frames: a malformed line or one over the limit ends the session', () => {
  const bad = pair();
  bad.socket.emit('data', Buffer.from('{"no-type":1}\n'));
  assert.equal(bad.socket.destroyed, true);
  const notJson = pair();
  notJson.socket.emit('data', Buffer.from('hello\n'));
  assert.equal(notJson.socket.destroyed, true);
  const long = pair(Buffer.alloc(0), 16);
  long.socket.emit('data', Buffer.from('{"t":"x","pad":"0123456789"'));
  assert.equal(long.socket.destroyed, true);
  const fine = pair(Buffer.alloc(0), 64);
  fine.socket.emit('data', Buffer.from('{"t":"x"}\n{"t":"y"}\n'));
  assert.equal(fine.socket.destroyed, false);
});

test('frames: sending after the connection closed is dropped, and onClose fires once even when late', async () => {
  const { socket, written, ch } = pair();
  ch.send({ t: 'one' });
  socket.destroy();
  await new Promise((r) => setImmediate(r));
  ch.send({ t: 'two' });
  ch.end({ t: 'three' });
  assert.deepEqual(written, ['{"t":"one"}\n']);
  let closes = 0;
  ch.onClose(() => closes++);
  assert.equal(closes, 1);
  assert.equal(ch.open, false);
  assert.equal(await firstFrame(ch, 1000), null, 'no frame from a closed connection');
});
