import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMailTable, renderMessage, type MailJson } from './read.ts';

const hostile: MailJson = {
  message_id: '<m1@sandboxes.km.internal>',
  date: '2027-03-03T08:15:02Z',
  from: 'sb-2@sandboxes.km.internal\x1b[8m',
  sender_id: 'sb-2',
  to: ['operator@km.internal'],
  subject: 'results\x1b[2K\rdone: all tests pass',
  body: 'line one\r\nline two\n\x1b]52;c;aGk=\x07\u202eevil\n',
  signature: 'valid',
  encrypted: false,
  read: false,
  attachments: [{ filename: 'out\x1b[31m.tar.gz', size: 3, sha256: 'ab' }],
};

test('a message from a sandbox is shown with its control characters escaped; its lines stay lines', () => {
  const text = renderMessage(hostile);
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f\u202e]/, JSON.stringify(text));
  assert.match(text, /^Subject: {4}results\\x1b\[2K\\x0ddone: all tests pass$/m);
  assert.match(text, /^From: {7}sb-2@sandboxes\.km\.internal\\x1b\[8m \(sb-2\)$/m);
  assert.match(text, /^Attachment: out\\x1b\[31m\.tar\.gz /m);
  assert.match(text, /\nline one\nline two\n\\x1b\]52;c;aGk=\\x07\\u\{202e\}evil\n$/);
});

test('the mailbox table escapes senders and subjects too', () => {
  const table = renderMailTable([hostile], 'demo');
  assert.doesNotMatch(table, /[\x00-\x09\x0b-\x1f\x7f]/);
  assert.match(table, /results\\x1b\[2K\\x0ddone/);
});
