/** Signed mail and identities (SPEC §12): km email send|read, km identity list|show. */
import type { CommandSpec, GroupSpec } from '../spec.ts';

export const mailGroups: GroupSpec[] = [
  { path: ['email'], summary: 'send and read signed mail between the operator and sandboxes' },
  { path: ['identity'], summary: 'mail identities: addresses, public keys, policies' },
];

const lazy = (name: string) => async () => (await import('../mail-commands.ts'))[name as keyof typeof import('../mail-commands.ts')];

export const mailCommands: CommandSpec[] = [
  {
    path: ['email', 'send'],
    summary: 'send a message as the operator (or --from a sandbox)',
    description:
      'Recipients are sandboxes (id, alias, number), operator, or addresses; sandbox recipients get it in their mailbox,\n' +
      'where their verifyInbound and allowedSenders apply. Signed and encrypted per the sender\'s email policy.\n' +
      'Addresses outside the sandbox domain need mail.transport: smtp (and, from a sandbox, mail.allow_external).\n' +
      '--body is always a file (- for stdin); --text is literal text.',
    options: [
      { name: 'to', type: 'string', multiple: true, valueName: 'SB|ADDRESS', description: 'recipients (comma-separated or repeated)' },
      { name: 'cc', type: 'string', multiple: true, valueName: 'SB|ADDRESS', description: 'copy recipients' },
      { name: 'subject', type: 'string', valueName: 'S', description: 'the subject (never encrypted)' },
      { name: 'body', type: 'string', valueName: 'FILE', description: 'read the body from FILE (- = stdin)' },
      { name: 'text', type: 'string', valueName: 'STRING', description: 'the body as literal text' },
      { name: 'attach', type: 'string', multiple: true, valueName: 'F', description: 'attach a file (repeatable)' },
      { name: 'from', type: 'string', valueName: 'SB', description: 'send as this sandbox, with its key and policy' },
      { name: 'no-sign', type: 'boolean', description: 'do not sign (refused when the sender requires signing)' },
    ],
    json: true,
    examples: ['km email send --to demo --subject "hello" --text "build is green"', 'km email send --to ci,web --subject report --body report.md --attach results.json', 'git log -5 | km email send --from demo --to operator --subject log --body -'],
    load: lazy('emailSendCommand'),
  },
  {
    path: ['email', 'read'],
    summary: 'list or read the messages of a sandbox or of the operator',
    args: [{ name: 'sb', required: true, complete: 'sandbox' }],
    options: [
      { name: 'unread', type: 'boolean', description: 'only unread messages' },
      { name: 'message', type: 'string', valueName: 'ID', description: 'show one message in full' },
      { name: 'raw', type: 'boolean', description: 'print the stored RFC 5322 message(s)' },
      { name: 'mark-read', type: 'boolean', description: 'mark the listed messages read' },
    ],
    json: true,
    examples: ['km email read operator', 'km email read demo --unread --mark-read', 'km email read demo --message "<id@sandboxes.km.internal>" --raw'],
    load: lazy('emailReadCommand'),
  },
  {
    path: ['identity', 'list'],
    summary: 'list mail identities',
    json: true,
    examples: ['km identity list', 'km identity list --json'],
    load: lazy('identityListCommand'),
  },
  {
    path: ['identity', 'show'],
    summary: 'show one identity: address, public keys, policies, allowed senders',
    args: [{ name: 'sb', required: true, complete: 'sandbox' }],
    json: true,
    examples: ['km identity show demo', 'km identity show operator --json'],
    load: lazy('identityShowCommand'),
  },
];
