/** `km doctor` (SPEC §14.3): host, state and daemon checks with safe repairs. */
export type {
  CaSummary,
  Check,
  CheckOutcome,
  CheckResult,
  CheckStatus,
  CommandRunner,
  ConfigProbe,
  DaemonProbe,
  DoctorContext,
  HostProbe,
  RunOptions,
  RunResult,
  SandboxSummary,
  StoreProbe,
} from './types.ts';
export { LOCAL_CHECKS, applyFixes, runChecks, summarize, type FixRecord, type Fixers } from './run.ts';
export { renderDoctor, type Paint } from './render.ts';
export { runCommand } from './runner.ts';
export { realHost } from './host.ts';
export { probeDaemon, probeSqliteStore } from './probes.ts';
export { parseCgroupMounts, parseProcCgroup } from './checks-cgroups.ts';
