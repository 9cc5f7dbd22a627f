/** The real command runner: spawn without a shell, bounded time, captured output. */
import { spawn } from 'node:child_process';
import type { CommandRunner, RunResult } from './types.ts';

const MAX_OUTPUT = 64 * 1024;

export const runCommand: CommandRunner = (cmd, args, options = {}) =>
  new Promise<RunResult>((resolve) => {
    const child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = 'ETIMEDOUT';
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 10_000);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8');
    });
    child.stdin.on('error', () => {});
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr || e.message, error: e.code ?? 'EUNKNOWN' });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const r: RunResult = { code, signal, stdout, stderr };
      if (error !== undefined) r.error = error;
      resolve(r);
    });
    child.stdin.end(options.input ?? '');
  });
