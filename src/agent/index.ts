/**
 * Agent runs (SPEC §10): command lines, the in-sandbox launcher, the run service and the
 * result document.
 */
export { buildAgentCommand, bedrockEnvironment, ARGV_PROMPT_LIMIT, MAX_PROMPT_BYTES, type AgentKind, type AgentCommand, type AgentCommandInput } from './commands.ts';
export { parseAgentResult, type AgentUsage, type ParsedResult } from './results.ts';
export { LAUNCHER, RUNS_DIR, TMUX_SOCKET, runDirOf, sessionOf, runFiles, type RunFilesInput } from './launcher.ts';
export { startRun, refreshRun, waitRun, cancelRun, runEnvironment, isOpen, TERMINAL, type RunDeps, type StartRunInput, type WaitOptions } from './runs.ts';
export { resultDocument, kmObject, meteredUsage, usageMismatch, AI_BUDGET_RULE, type MeteredUsage, type ComposeInput } from './compose.ts';
export { hasSession, tmuxArgv } from './sandbox-io.ts';
export { runningDocument, exitCodeOf } from './documents.ts';
export { queuePrompts, startNextQueued, DEFAULT_RUN_TIMEOUT_S, type QueuedPrompt } from './queue.ts';
export { createRunWatcher, agentRunsDaemonService, type RunWatcher, type RunWatcherDeps } from './watcher.ts';
