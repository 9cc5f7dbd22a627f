/**
 * Init commands (SPEC §9.4): as root inside the sandbox, each via `execution.shell -c`, in
 * order, stopping at the first non-zero exit, each bounded by `init_timeout`; output is
 * streamed to the caller and its tail kept for the error and the event log.
 */
import { KmError } from '../core/errors.ts';
import type { Substrate } from '../substrate/index.ts';
import type { EventRecorder } from './events.ts';
import type { ProgressSink } from './types.ts';

const TAIL_BYTES = 4096;
const PERMISSION = /permission denied|read-only file system|are you root|EACCES|EROFS|operation not permitted/i;

export interface InitRun {
  substrate: Substrate;
  sandboxId: string;
  label: string;
  shell: string;
  commands: readonly string[];
  timeoutS: number;
  progress: ProgressSink;
  events: EventRecorder;
}

async function runOne(r: InitRun, command: string): Promise<{ code: number; tail: string; timedOut: boolean }> {
  const h = await r.substrate.exec(r.sandboxId, [r.shell, '-c', command], { root: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const take = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const data = chunk.toString('utf8');
    tail = (tail + data).slice(-TAIL_BYTES);
    r.progress({ type: 'output', stream, data });
  };
  h.stdout?.on('data', take('stdout'));
  h.stderr?.on('data', take('stderr'));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    h.kill('SIGKILL');
  }, r.timeoutS * 1000);
  try {
    const code = await h.exit;
    return { code, tail, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

export async function runInitCommands(r: InitRun): Promise<void> {
  const n = r.commands.length;
  for (const [i, command] of r.commands.entries()) {
    r.progress({ type: 'step', message: `init ${i + 1}/${n}: ${command}` });
    const { code, tail, timedOut } = await runOne(r, command);
    await r.events.record(r.sandboxId, 'init.command', 'kmd', { index: i + 1, command, exit_code: code, timed_out: timedOut, output_tail: tail });
    if (code === 0) continue;
    const last = tail.trim().split('\n').slice(-5).join('\n');
    const why = timedOut ? `timed out after ${r.timeoutS}s` : `exited ${code}`;
    const hint = PERMISSION.test(tail)
      ? `system paths of the host base cannot be modified inside the sandbox; install into /workspace or the home directory instead; km destroy ${r.label} removes the failed sandbox`
      : `see km logs ${r.label} --type init.command; km destroy ${r.label} removes it`;
    throw new KmError('failed', `init command ${i + 1} of ${n} (${command}) ${why}${last ? `:\n${last}` : ''}`, {
      hint,
      details: { command, exit_code: code, output_tail: tail },
    });
  }
}
