/**
 * Agent command lines (SPEC §10.2, §10.3). Pure: which argv, environment and stdin an agent
 * run gets. The prompt is always one argv element (or stdin for very large prompts); no shell
 * ever parses it.
 */
export type AgentKind = 'claude' | 'codex' | 'goose';

/** Prompts above this size go through stdin (or a file) instead of argv. */
export const ARGV_PROMPT_LIMIT = 100 * 1024;
export const MAX_PROMPT_BYTES = 1024 * 1024;

export interface AgentCommandInput {
  agent: AgentKind;
  prompt: string;
  /** Path inside the sandbox where the prompt is stored (the run file). */
  promptPath: string;
  /** `cli.claudeArgs` / `codexArgs` / `gooseArgs` from the profile. */
  profileArgs: readonly string[];
  /** The user's `-- args`, placed last so they win. */
  userArgs: readonly string[];
  /** Goose: the installed version supports `--output-format json`. */
  gooseJson?: boolean;
}

export interface AgentCommand {
  argv: string[];
  /** When set, the launcher feeds this file to the agent's stdin. */
  stdinPath: string | null;
}

export function buildAgentCommand(input: AgentCommandInput): AgentCommand {
  const bytes = Buffer.byteLength(input.prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) throw new RangeError(`prompt is ${bytes} bytes; the limit is 1 MiB`);
  const big = bytes > ARGV_PROMPT_LIMIT;
  switch (input.agent) {
    case 'claude':
      // `claude -p` reads the prompt from stdin when none is given on the command line.
      return {
        argv: ['claude', '-p', ...(big ? [] : [input.prompt]), '--output-format', 'json', '--dangerously-skip-permissions', ...input.profileArgs, ...input.userArgs],
        stdinPath: big ? input.promptPath : null,
      };
    case 'codex':
      // `codex exec -` reads the prompt from stdin.
      return {
        argv: ['codex', 'exec', '--json', '--dangerously-bypass-approvals-and-sandbox', ...input.profileArgs, ...input.userArgs, big ? '-' : input.prompt],
        stdinPath: big ? input.promptPath : null,
      };
    case 'goose':
      return {
        argv: ['goose', 'run', ...(big ? ['--instructions', input.promptPath] : ['--text', input.prompt]), ...(input.gooseJson ? ['--output-format', 'json'] : []), ...input.profileArgs, ...input.userArgs],
        stdinPath: null,
      };
  }
}

const BEDROCK_MODEL = /^(?:(?:us|eu|apac|global|us-gov|jp|au|ca)\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::\d+)?$|^arn:aws:bedrock:/;

/**
 * The run's environment with Bedrock switched on or off (SPEC §10.3). `--no-bedrock` removes
 * every Bedrock setting, whether km or the profile set it.
 */
export function bedrockEnvironment(env: Readonly<Record<string, string>>, opts: { useBedrock: boolean; noBedrock: boolean; region: string; agent: AgentKind }): Record<string, string> {
  const out: Record<string, string> = { ...env };
  if (opts.useBedrock && !opts.noBedrock) {
    if (opts.agent === 'claude' && out.CLAUDE_CODE_USE_BEDROCK === undefined) out.CLAUDE_CODE_USE_BEDROCK = '1';
    if (out.AWS_REGION === undefined) out.AWS_REGION = opts.region;
    if (opts.agent === 'goose' && out.GOOSE_PROVIDER === undefined) out.GOOSE_PROVIDER = 'aws_bedrock';
    return out;
  }
  if (!opts.noBedrock) return out;
  delete out.CLAUDE_CODE_USE_BEDROCK;
  if (out.ANTHROPIC_BASE_URL !== undefined && /bedrock/i.test(out.ANTHROPIC_BASE_URL)) delete out.ANTHROPIC_BASE_URL;
  for (const k of Object.keys(out)) if (k.startsWith('ANTHROPIC_DEFAULT_') && k.endsWith('_MODEL')) delete out[k];
  if (out.GOOSE_PROVIDER === 'aws_bedrock') delete out.GOOSE_PROVIDER;
  if (out.GOOSE_MODEL !== undefined && BEDROCK_MODEL.test(out.GOOSE_MODEL)) delete out.GOOSE_MODEL;
  return out;
}
