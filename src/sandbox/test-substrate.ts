/**
 * A substrate double for unit tests of pure orchestration (tests only): remembers each
 * sandbox's status and answers exec with scripted exit codes and output.
 */
import { PassThrough } from 'node:stream';
import { KmError } from '../core/errors.ts';
import type { ExecHandle, SandboxHandleInfo, SandboxSpec, Substrate, SubstrateStatus } from '../substrate/index.ts';

export interface SubstrateDouble extends Substrate {
  readonly specs: Map<string, SandboxSpec>;
  readonly states: Map<string, SubstrateStatus>;
  readonly calls: string[];
  /** argv joined with spaces → exit code and output (default 0, no output). */
  script: Map<string, { code: number; out?: string }>;
  failPauseOnce: boolean;
}

export function createSubstrateDouble(): SubstrateDouble {
  const specs = new Map<string, SandboxSpec>();
  const states = new Map<string, SubstrateStatus>();
  const calls: string[] = [];
  const script = new Map<string, { code: number; out?: string }>();
  const info = (id: string): SandboxHandleInfo => ({
    id, status: states.get(id) ?? 'missing', stateDir: specs.get(id)?.stateDir ?? '', pid: 1,
    features: { cgroups: 'none', freeze: 'signals', transparent: true, limits: {} }, warnings: [],
  });
  const d: SubstrateDouble = {
    name: 'local',
    specs, states, calls, script, failPauseOnce: false,
    async create(spec) {
      calls.push(`create ${spec.id}`);
      specs.set(spec.id, spec);
      states.set(spec.id, 'running');
      return info(spec.id);
    },
    async start(id) {
      states.set(id, 'running');
      return info(id);
    },
    async pause(id) {
      calls.push(`pause ${id}`);
      if (d.failPauseOnce) {
        d.failPauseOnce = false;
        throw new KmError('failed', 'freezer broke');
      }
      if (states.get(id) === 'running') states.set(id, 'paused');
    },
    async resume(id) {
      calls.push(`resume ${id}`);
      states.set(id, 'running');
    },
    async stop(id) {
      calls.push(`stop ${id}`);
      if (states.has(id)) states.set(id, 'stopped');
    },
    async destroy(id) {
      calls.push(`destroy ${id}`);
      states.delete(id);
      specs.delete(id);
    },
    async exec(id, argv): Promise<ExecHandle> {
      calls.push(`exec ${id} ${argv.join(' ')}`);
      if (states.get(id) !== 'running') throw new KmError('invalid_state', `${id} is not running`);
      const r = script.get(argv.join(' ')) ?? { code: 0 };
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      setImmediate(() => {
        if (r.out) stdout.write(r.out);
        stdout.end();
        stderr.end();
      });
      return { pid: 1, stdin: null, stdout, stderr, exit: new Promise((res) => setTimeout(() => res(r.code), 5)), kill: () => undefined };
    },
    async status(id) {
      return states.get(id) ?? 'missing';
    },
    async adopt(id) {
      return info(id);
    },
    async close() {},
  };
  return d;
}
