/**
 * The per-sandbox records persisted in its state dir: `spec.json` (what to build, written at
 * create) and `runtime.json` (the running tree: pids with start times, namespace inode,
 * cgroups, capture state, paused flag). A restarted daemon re-reads both in `adopt`.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SandboxSpec } from '../index.ts';
import type { CgroupPaths } from './cgroups.ts';
import type { ProcRef } from './proctree.ts';

export interface StoredSpec {
  version: 1;
  spec: SandboxSpec;
  /** Host uid/gid the tree runs as (kmd's own, or the dedicated one under a root kmd). */
  hostUid: number;
  hostGid: number;
  /**
   * Root kmd: the host uid/gid the sandbox user (1000) maps to, in the same user namespace as
   * root inside ("dual" ids). Null: one id only, the workload sits in a nested namespace.
   */
  sandboxHostUid?: number | null;
  /** Absolute host paths hidden inside the sandbox. */
  masks: string[];
  configWritten: boolean;
}

export interface RuntimeRecord {
  version: 1;
  /** Host-side bwrap monitor process. */
  bwrap: ProcRef;
  /** PID 1 inside (bwrap's reaper), owner of the outer user namespace. */
  init: ProcRef;
  /** Holder of the workload user namespace (uid 1000). */
  holder: ProcRef;
  /** The holder's pid inside the sandbox's PID namespace. */
  holderNsPid: number;
  /** `user:[inode]` of the outer user namespace, as a sanity check on adopt. */
  userns: string;
  capture: boolean;
  cgroups: CgroupPaths | null;
  /** The BPF connect gatekeeper is attached to the v2 cgroup (bpf.ts). */
  gatekeeper?: boolean;
  paused: boolean;
  startedAt: string;
}

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

export const writeSpec = (path: string, s: StoredSpec): void => writeJson(path, s);
export const readSpec = (path: string): StoredSpec | null => readJson<StoredSpec>(path);
export const writeRuntime = (path: string, r: RuntimeRecord | null): void => writeJson(path, r);
export const readRuntime = (path: string): RuntimeRecord | null => readJson<RuntimeRecord>(path);
