/** Which substrates this machine can run, probed the same way `km doctor` does. */
import { LOCAL_CHECKS, runChecks, runCommand, type DoctorContext } from '../doctor/index.ts';

export interface SubstrateInfo {
  available: boolean;
  reason: string | null;
}

const LOCAL_NEEDS = ['user-namespaces', 'bubblewrap'];

export async function localSubstrate(ctx: DoctorContext): Promise<SubstrateInfo> {
  const results = await runChecks(ctx, LOCAL_CHECKS.filter((c) => LOCAL_NEEDS.includes(c.name)));
  const bad = results.find((r) => r.status === 'fail');
  return bad ? { available: false, reason: `${bad.name}: ${bad.message}` } : { available: true, reason: null };
}

export async function dockerSubstrate(): Promise<SubstrateInfo> {
  const r = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 });
  if (r.error === 'ENOENT') return { available: false, reason: 'the docker CLI is not installed' };
  if (r.code === 0 && r.stdout.trim() !== '') return { available: true, reason: null };
  const line = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? `exit code ${r.code}`;
  return { available: false, reason: r.error === 'ETIMEDOUT' ? 'docker version timed out' : `Docker daemon not reachable: ${line}` };
}
