/** Sandbox lifecycle commands (SPEC §8): create, list, status, shell, exec, pause … clone. */
import type { ArgSpec, CommandSpec, GroupSpec, OptionSpec } from '../spec.ts';
import { learnGenerateFlags } from './learn.ts';

export const sandboxGroups: GroupSpec[] = [{ path: ['image'], aliases: ['ami'], summary: 'local images baked from sandboxes' }];

const sb: ArgSpec = { name: 'sb', required: true, complete: 'sandbox' };

const createFlags: OptionSpec[] = [
  { name: 'ttl', type: 'string', valueName: 'D', description: 'override lifecycle.ttl (0 = never expires)' },
  { name: 'idle', type: 'string', valueName: 'D', description: 'override lifecycle.idleTimeout (0 = off)' },
  { name: 'substrate', type: 'string', valueName: 'S', description: 'where it runs', choices: ['local', 'docker', 'ec2', 'ecs'] },
  { name: 'docker', type: 'boolean', description: 'same as --substrate docker' },
  { name: 'on-demand', type: 'boolean', description: 'no spot capacity (ec2/ecs; accepted on local, no effect)' },
  { name: 'no-bedrock', type: 'boolean', description: 'agents do not use Bedrock (removes the Bedrock variables)' },
  { name: 'ai', type: 'string', valueName: 'USD', description: 'AI budget limit' },
  { name: 'compute', type: 'string', valueName: 'USD', description: 'compute budget limit' },
];

// Each command loads only its own module (the bundled CLI is split by file).
const lazy = (name: string) => async () => (await import('../sandbox-commands.ts'))[name as keyof typeof import('../sandbox-commands.ts')];
const lazyCreate = (name: 'createCommand' | 'cloneCommand') => async () => (await import('../sandbox-create.ts'))[name];
const lazyExec = (name: 'execCommand' | 'shellCommand') => async () => (await import('../sandbox-exec.ts'))[name];
const lazyImage = (name: 'imageBakeCommand' | 'imageListCommand' | 'imageDeleteCommand') => async () => (await import('../sandbox-images.ts'))[name];

export const sandboxCommands: CommandSpec[] = [
  {
    path: ['create'],
    summary: 'create a sandbox from a profile',
    description:
      'Resolve and validate the profile (a file, a name in the profile search paths, or a built-in), apply the flags,\n' +
      'open the sandbox\'s gateway, build it and run its init commands (output streamed to stderr).',
    args: [{ name: 'profile', required: true, complete: 'profile' }],
    options: [
      { name: 'alias', type: 'string', valueName: 'A', description: 'a unique name for the sandbox' },
      ...createFlags,
      { name: 'prompt', type: 'string', multiple: true, valueName: 'TEXT', description: 'queue an agent run with this prompt (runs start in order once the sandbox is up)' },
      { name: 'prompt-file', type: 'string', multiple: true, valueName: 'F', description: 'queue an agent run with the prompt in file F (- for stdin)' },
      { name: 'wait', type: 'boolean', description: 'with prompts: wait for every queued run; exit with the first non-success code' },
    ],
    json: true,
    examples: ['km create learn --alias demo', 'km create profiles/hardened.yaml --ttl 2h --idle 30m', 'km create open-dev --alias web --ai 5'],
    load: lazyCreate('createCommand'),
  },
  {
    path: ['list'],
    summary: 'list sandboxes',
    options: [
      { name: 'wide', type: 'boolean', description: 'add profile, substrate, idle, budgets, lock and origin columns' },
      { name: 'all', type: 'boolean', description: 'include destroyed sandboxes' },
    ],
    json: true,
    examples: ['km list', 'km list --wide', 'km list --all --json'],
    load: lazy('listCommand'),
  },
  {
    path: ['status'],
    summary: 'show a sandbox in detail (every sandbox without <sb>)',
    args: [{ name: 'sb', complete: 'sandbox' }],
    json: true,
    examples: ['km status demo', 'km status 1 --json'],
    load: lazy('statusCommand'),
  },
  {
    path: ['shell'],
    summary: 'open an interactive shell in a sandbox',
    args: [sb],
    options: [
      { name: 'root', type: 'boolean', description: 'root inside the sandbox (never host root)' },
      { name: 'ports', type: 'string', valueName: 'H:S,…', description: 'while the shell is open, forward host 127.0.0.1:H to sandbox port S (a single number maps the same port)' },
      { name: 'learn', type: 'boolean', description: 'record a learn session while the shell is open; generate the profile on exit' },
      ...learnGenerateFlags,
    ],
    examples: ['km shell demo', 'km shell demo --root', 'km shell demo --ports 8080:80,5432', 'km shell --learn demo -o my-profile.yaml'],
    load: lazyExec('shellCommand'),
  },
  {
    path: ['exec'],
    summary: 'run a command in a sandbox; its exit code is km\'s',
    description: 'Runs argv directly (no shell parsing). Exit code: the command\'s; 128+N if killed by signal N; 127 not found;\n126 not executable; 125 when km failed before the command started.',
    args: [sb],
    options: [
      { name: 'root', type: 'boolean', description: 'root inside the sandbox (never host root)' },
      { name: 'env', type: 'string', multiple: true, valueName: 'K=V', description: 'extra environment variable' },
      { name: 'workdir', type: 'string', valueName: 'D', description: 'working directory inside the sandbox' },
      { name: 'tty', short: 't', type: 'boolean', description: 'allocate a pseudo-terminal' },
    ],
    passthrough: true,
    examples: ['km exec demo -- curl -sS https://example.com/', 'km exec demo --root -- id', 'km exec 1 --env FOO=bar -- sh -c \'echo $FOO\''],
    load: lazyExec('execCommand'),
  },
  {
    path: ['pause'],
    summary: 'freeze a sandbox\'s processes',
    args: [sb],
    json: true,
    examples: ['km pause demo'],
    load: lazy('pauseCommand'),
  },
  {
    path: ['resume'],
    summary: 'thaw a paused sandbox, or start a stopped one',
    args: [sb],
    json: true,
    examples: ['km resume demo'],
    load: lazy('resumeCommand'),
  },
  {
    path: ['stop'],
    summary: 'end a sandbox\'s processes, keeping its filesystem',
    args: [sb],
    json: true,
    examples: ['km stop demo'],
    load: lazy('stopCommand'),
  },
  {
    path: ['destroy'],
    aliases: ['kill'],
    summary: 'remove a sandbox and everything it owns',
    description: 'Asks [y/N] on a terminal; otherwise needs --yes. History stays for retention_days unless --purge.',
    args: [sb],
    options: [
      { name: 'yes', short: 'y', type: 'boolean', description: 'do not ask for confirmation' },
      { name: 'purge', type: 'boolean', description: 'also delete its history (events, ledger, runs) now' },
    ],
    json: true,
    examples: ['km destroy demo --yes', 'km kill 2 --yes --purge'],
    load: lazy('destroyCommand'),
  },
  {
    path: ['lock'],
    summary: 'protect a sandbox against destroy, stop, pause and automatic teardown',
    args: [sb],
    json: true,
    examples: ['km lock demo'],
    load: lazy('lockCommand'),
  },
  {
    path: ['unlock'],
    summary: 'remove a sandbox\'s lock',
    args: [sb],
    json: true,
    examples: ['km unlock demo'],
    load: lazy('unlockCommand'),
  },
  {
    path: ['extend'],
    summary: 'push a sandbox\'s expiry out and/or change its idle timeout',
    args: [sb, { name: 'duration' }],
    options: [{ name: 'idle', type: 'string', valueName: 'D', description: 'new idle timeout (0 = off)' }],
    json: true,
    examples: ['km extend demo 2h', 'km extend demo --idle 30m', 'km extend demo 1d --idle 2h'],
    load: lazy('extendCommand'),
  },
  {
    path: ['clone'],
    summary: 'create sandboxes from an existing one',
    description: 'Copies the source\'s writable layer (frozen during the copy) unless --no-copy; each clone gets its own ID, CA and clocks.',
    args: [{ name: 'src', required: true, complete: 'sandbox' }, { name: 'alias' }],
    options: [
      { name: 'alias', type: 'string', valueName: 'A', description: 'alias of the clone (A-1 … A-N with --count)' },
      { name: 'no-copy', type: 'boolean', description: 'fresh filesystem; init commands run' },
      { name: 'count', type: 'string', valueName: 'N', description: 'how many clones (1-20, needs an alias)' },
      ...createFlags,
    ],
    json: true,
    examples: ['km clone demo demo2', 'km clone demo --alias worker --count 3', 'km clone demo fresh --no-copy'],
    load: lazyCreate('cloneCommand'),
  },
  {
    path: ['image', 'bake'],
    summary: 'snapshot a sandbox\'s filesystem into a local image',
    description: 'Copies the sandbox\'s writable layer (a running sandbox is frozen during the copy). Profiles use it with runtime.ami: <name>.',
    args: [sb],
    options: [
      { name: 'name', type: 'string', valueName: 'N', description: 'image name (default <alias|id>-<YYYYMMDD-HHMMSS>)' },
      { name: 'description', type: 'string', valueName: 'D', description: 'free text kept with the image' },
    ],
    json: true,
    examples: ['km image bake demo --name web-base'],
    load: lazyImage('imageBakeCommand'),
  },
  {
    path: ['image', 'list'],
    summary: 'list local images and what uses them',
    json: true,
    examples: ['km image list', 'km ami list --json'],
    load: lazyImage('imageListCommand'),
  },
  {
    path: ['image', 'delete'],
    summary: 'delete a local image (refused while a sandbox uses it)',
    args: [{ name: 'name', required: true }],
    options: [{ name: 'yes', short: 'y', type: 'boolean', description: 'do not ask for confirmation' }],
    json: true,
    examples: ['km image delete web-base --yes'],
    load: lazyImage('imageDeleteCommand'),
  },
];
