/**
 * vCPU and memory of common EC2 instance types: hibernation's root-volume rule
 * (SPEC §1.3) and the CPU/memory limits that `instanceType` means on local/docker.
 */
export interface InstanceSpec {
  vcpu: number;
  memoryGiB: number;
}

/** Burstable families have irregular sizes, so they are listed. */
const BURSTABLE: Record<string, InstanceSpec> = {
  nano: { vcpu: 2, memoryGiB: 0.5 },
  micro: { vcpu: 2, memoryGiB: 1 },
  small: { vcpu: 2, memoryGiB: 2 },
  medium: { vcpu: 2, memoryGiB: 4 },
  large: { vcpu: 2, memoryGiB: 8 },
  xlarge: { vcpu: 4, memoryGiB: 16 },
  '2xlarge': { vcpu: 8, memoryGiB: 32 },
};

/** GiB of memory per vCPU for the regular families (first letter of the family). */
const GIB_PER_VCPU: Record<string, number> = { m: 4, c: 2, r: 8 };

/** Returns the type's vCPU count and memory, or undefined for a type km does not know. */
export function instanceSpec(type: string): InstanceSpec | undefined {
  const m = /^([a-z]+)(\d+)([a-z]*)\.(nano|micro|small|medium|large|xlarge|(\d+)xlarge)$/.exec(type);
  if (!m) return undefined;
  const family = m[1] as string;
  const size = m[4] as string;
  if (family === 't') return BURSTABLE[size];
  const perVcpu = GIB_PER_VCPU[family];
  if (perVcpu === undefined) return undefined;
  const vcpu = size === 'large' ? 2 : size === 'xlarge' ? 4 : m[5] !== undefined ? 4 * Number(m[5]) : undefined;
  return vcpu === undefined ? undefined : { vcpu, memoryGiB: vcpu * perVcpu };
}

/** Default instance type on ec2/ecs when a profile sets none (SPEC §1.2). */
export const DEFAULT_INSTANCE_TYPE = 't3.medium';
