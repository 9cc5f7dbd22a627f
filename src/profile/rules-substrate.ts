/**
 * Substrate-dependent rules (SPEC §1.3), evaluated for the effective substrate.
 */
import type { PathSegment, Severity } from '../core/diagnostics.ts';
import { DEFAULT_INSTANCE_TYPE, instanceSpec } from './instance-types.ts';
import type { ProfileSpec } from './schema.ts';
import type { Substrate } from './schema-sections.ts';

export interface Finding {
  path: PathSegment[];
  message: string;
  severity: Severity;
}

export const AMI_SLUGS: readonly string[] = ['amazon-linux-2023', 'ubuntu-24.04', 'ubuntu-22.04'];
export const AMI_ID_RE = /^ami-[0-9a-f]{8,17}$/;
export const LOCAL_IMAGE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const RT = ['spec', 'runtime'] as const;
const err = (field: string, message: string): Finding => ({ path: [...RT, field], message, severity: 'error' });
const warn = (field: string, message: string): Finding => ({ path: [...RT, field], message, severity: 'warning' });

function amiFindings(ami: string | undefined, substrate: Substrate): Finding[] {
  if (ami === undefined) return [];
  const q = JSON.stringify(ami);
  const slug = AMI_SLUGS.includes(ami);
  const id = AMI_ID_RE.test(ami);
  switch (substrate) {
    case 'ec2':
      return slug || id ? [] : [err('ami', `${q} is not an AMI slug (${AMI_SLUGS.join(', ')}) or AMI ID (ami-…) as ec2 needs`)];
    case 'ecs':
      return [warn('ami', 'ignored on ecs; the task image comes from the operator configuration')];
    case 'docker':
      return [];
    case 'local':
      if (id) return [warn('ami', `${q} is an AMI ID; ignored on the local substrate (the host base image is used)`)];
      if (slug) return [warn('ami', `${q} is an AWS image slug; on the local substrate a local image of that name is used if one exists, else the host base`)];
      return LOCAL_IMAGE_RE.test(ami) ? [] : [err('ami', `${q} is not a local image name ([a-z0-9][a-z0-9._-]{0,62}, see km image list)`)];
  }
}

export function substrateFindings(spec: ProfileSpec, substrate: Substrate): Finding[] {
  const rt = spec.runtime;
  const out: Finding[] = [];
  const local = substrate === 'local' || substrate === 'docker';
  if (local && rt.spot) out.push(warn('spot', `has no effect on the ${substrate} substrate`));
  if (substrate === 'ec2' && rt.hibernation) {
    if (rt.spot) out.push(err('hibernation', 'hibernation cannot be combined with spot: true on ec2; turn one of them off'));
    const type = rt.instanceType ?? DEFAULT_INSTANCE_TYPE;
    const mem = instanceSpec(type)?.memoryGiB;
    if (mem !== undefined && rt.rootVolumeSize > 0 && rt.rootVolumeSize < mem + 8) {
      const need = Math.ceil(mem + 8);
      out.push(err('rootVolumeSize', `${rt.rootVolumeSize} GiB is too small for hibernation on ${type}; it needs at least RAM + 8 GiB (${need} GiB), or 0 for the image default`));
    }
  }
  if (substrate === 'ecs') {
    if (rt.hibernation) out.push(warn('hibernation', 'ignored on ecs'));
    if (rt.additionalVolume) out.push(warn('additionalVolume', 'ignored on ecs'));
    if (spec.network.enforcement !== 'proxy') {
      out.push({ path: ['spec', 'network', 'enforcement'], message: `${spec.network.enforcement} is not available on ecs; proxy enforcement only`, severity: 'warning' });
    }
  }
  out.push(...amiFindings(rt.ami, substrate));
  return out;
}
