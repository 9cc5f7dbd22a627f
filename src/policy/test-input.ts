/** Builds PolicyInput values for tests (not exported from index.ts). */
import type { PolicyInput } from './compile.ts';

export interface InputParts {
  hosts?: string[];
  suffixes?: string[];
  pathRules?: Array<{ host: string; allow: string[] }>;
  httpsOnly?: boolean;
  mode?: 'allowlist' | 'none';
  repos?: string[];
  refs?: string[];
  allowGraphQL?: boolean;
}

export function policyInput(parts: InputParts = {}): PolicyInput {
  return {
    network: {
      enforcement: 'proxy',
      httpsOnly: parts.httpsOnly ?? false,
      egress: {
        allowedDNSSuffixes: parts.suffixes ?? [],
        allowedHosts: parts.hosts ?? [],
        pathRules: parts.pathRules ?? [],
      },
    },
    sourceAccess: {
      mode: parts.mode ?? 'allowlist',
      github: {
        allowedRepos: parts.repos ?? [],
        ...(parts.refs ? { allowedRefs: parts.refs } : {}),
        allowForcePush: false,
        allowRefDeletion: false,
        allowGraphQL: parts.allowGraphQL ?? false,
      },
    },
    runtime: { region: 'us-east-1' },
  };
}
