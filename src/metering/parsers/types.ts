/** Token usage as metered from one AI exchange. All counts are non-negative integers. */
export interface TokenUsage {
  /** Input tokens billed at the input rate (Anthropic: excludes cache reads/writes). */
  inputTokens: number;
  outputTokens: number;
  /** Anthropic-style cache writes at the 5-minute rate. */
  cacheWriteTokens: number;
  /** Anthropic-style cache writes at the 1-hour rate (a subset reported separately). */
  cacheWrite1hTokens: number;
  /** Anthropic-style cache reads. */
  cacheReadTokens: number;
  /** OpenAI-style cached input (a subset of inputTokens). */
  cachedInputTokens: number;
  /** Reasoning tokens (a subset of outputTokens; never added twice). */
  reasoningTokens: number;
}

export type Provider = 'anthropic' | 'openai' | 'bedrock';

/** What the parser knows so far; `complete` once the final usage figure was seen. */
export interface UsageSnapshot {
  provider: Provider;
  model: string | null;
  usage: TokenUsage;
  /** True when any usage figure has been seen. */
  seen: boolean;
  /** True when the figures are final for this response (e.g. message_delta after message_start). */
  complete: boolean;
}

/**
 * An incremental response parser. `push` is called with each chunk as it passes through the
 * gateway (the chunk itself is forwarded untouched); it returns a snapshot whenever the usage
 * figures changed, so the ledger can be written as soon as usage is seen.
 */
export interface UsageParser {
  push(chunk: Uint8Array): UsageSnapshot | undefined;
  /** End of the response body: a last snapshot (possibly unchanged). */
  end(): UsageSnapshot;
}

export const emptyUsage = (): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
});

export const int = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
