import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable } from './printable.ts';

test('printable escapes what could steer a terminal or break a line, and keeps the rest', () => {
  assert.equal(printable('plain text, ünïcödé, tab\there'), 'plain text, ünïcödé, tab\there');
  assert.equal(printable('a\x1b[2K\x1b[1Ab'), 'a\\x1b[2K\\x1b[1Ab', 'erase line, cursor up');
  assert.equal(printable('\x1b]52;c;aGk=\x07'), '\\x1b]52;c;aGk=\\x07', 'OSC 52 clipboard write');
  assert.equal(printable('fake\rline'), 'fake\\x0dline');
  assert.equal(printable('one\ntwo'), 'one\\x0atwo');
  assert.equal(printable('\x9b31m C1 CSI, \x7f DEL, \x00 NUL'), '\\x9b31m C1 CSI, \\x7f DEL, \\x00 NUL');
  assert.equal(printable('abc\u202edcba \u2066x\u2069 \u2028'), 'abc\\u{202e}dcba \\u{2066}x\\u{2069} \\u{2028}', 'bidi controls and LS');
});

test('printable with lines keeps line feeds (CRLF as one) but not a lone CR', () => {
  assert.equal(printable('one\r\ntwo\nthree\rfour', { lines: true }), 'one\ntwo\nthree\\x0dfour');
  assert.equal(printable('body\x1b[8mhidden', { lines: true }), 'body\\x1b[8mhidden');
});
