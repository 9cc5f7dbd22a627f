/** Types shared by the sandbox service, its routes and the CLI. */
import type { Clock } from '../core/clock.ts';
import type { Profile } from '../profile/index.ts';
import type { CreatedBy, Store } from '../store/index.ts';
import type { Substrate } from '../substrate/index.ts';
import type { GatewayUpstreamConfig } from '../gateway/index.ts';
import type { EventRecorder } from './events.ts';
import type { GatewayManager } from './gateways.ts';
import type { CreateOverrides } from './overrides.ts';
import type { SandboxJson } from './record.ts';

/** The operator settings a create needs (read by the CLI from its config layers). */
export interface CreateConfig {
  maxSandboxes: number;
  gateway: GatewayUpstreamConfig;
  extraMeteringHosts: string[];
  initTimeoutS: number;
  requireEbpf: boolean;
  emailSubdomain: string;
  domain?: string;
}

export interface CreateRequest {
  /** The resolved profile (validated again after overrides). */
  profile: Profile;
  profileName: string;
  abstract?: boolean;
  alias?: string | null;
  overrides?: CreateOverrides;
  config: CreateConfig;
  createdBy?: CreatedBy;
  /** Time zone for messages. */
  timeZone?: string;
}

export type Progress =
  | { type: 'step'; message: string }
  | { type: 'warning'; message: string }
  | { type: 'output'; stream: 'stdout' | 'stderr'; data: string };

export type ProgressSink = (p: Progress) => void;

export interface OpResult {
  /** The line the CLI prints (SPEC §8.7 wording). */
  message: string;
  /** Whether anything changed (no-ops and "already …" are false). */
  changed: boolean;
  sandbox: SandboxJson;
}

export interface SandboxServiceDeps {
  kmHome: string;
  store: Store;
  substrates: Readonly<Record<string, Substrate>>;
  gateways: Pick<GatewayManager, 'open' | 'close'>;
  events: EventRecorder;
  clock: Clock;
  /** SIGTERM → SIGKILL grace for stop (SPEC §8.7: 10 s). */
  stopGraceMs?: number;
  newId?: (prefix: string) => string;
  /** Substrates this host cannot run, with the reason (e.g. local without bubblewrap). */
  unavailable?: Readonly<Record<string, string>>;
}
