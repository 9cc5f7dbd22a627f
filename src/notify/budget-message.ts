/**
 * The text of a budget notice (SPEC §6.5, §16.1): subject and plain-text body for a
 * `budget.warning`, `budget.exhausted` or `budget.topup` event. Pure: the event and what the
 * store knows about its sandbox in, text out. Callers redact before sending.
 */
import { toIso } from '../core/clock.ts';
import { formatUsd } from '../budget/index.ts';
import type { EventRecord, SandboxRecord } from '../store/index.ts';

export const BUDGET_EVENT_TYPES = ['budget.warning', 'budget.exhausted', 'budget.topup'] as const;

export interface BudgetNotice {
  subject: string;
  text: string;
}

type SandboxFacts = Pick<SandboxRecord, 'id' | 'alias' | 'profileName'>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const usd = (v: unknown): string => (num(v) === undefined ? 'unknown' : formatUsd(num(v)!));
const dimName = (d: unknown): string => (d === 'compute' ? 'compute' : 'AI');
const flag = (d: unknown): string => (d === 'compute' ? '--compute' : '--ai');

/** Whole percent, rounded down so 99.6% never reads as 100%. */
function percent(fraction: number | undefined, spent: number | undefined, limit: number | undefined): string | undefined {
  const f = fraction ?? (spent !== undefined && limit !== undefined && limit > 0 ? spent / limit : undefined);
  return f === undefined ? undefined : `${Math.floor(f * 100 + 1e-9)}%`;
}

/** A copy-pasteable top-up: as much again as the current limit, in whole dollars (at least $1). */
export function topUpCommand(ref: string, dimension: unknown, limitUsd: unknown): string {
  const limit = num(limitUsd);
  const amount = limit === undefined ? 5 : Math.max(1, Math.ceil(limit));
  return `km budget add ${ref} ${flag(dimension)} ${amount}`;
}

function facts(e: EventRecord, sb: SandboxFacts | undefined): { ref: string; label: string; lines: string[] } {
  const ref = sb?.alias ?? e.sandboxId;
  const label = sb?.alias ? `${sb.alias} (${e.sandboxId})` : e.sandboxId;
  const lines = [`Sandbox:    ${label}`];
  if (sb) lines.push(`Profile:    ${sb.profileName}`);
  return { ref, label, lines };
}

function warning(e: EventRecord, sb: SandboxFacts | undefined): BudgetNotice {
  const d = e.detail;
  const { ref, label, lines } = facts(e, sb);
  const pct = percent(num(d.fraction), num(d.spent_usd), num(d.limit_usd));
  const threshold = num(d.threshold);
  const subject = `km: budget warning for ${label}: ${dimName(d.dimension)} ${usd(d.spent_usd)} of ${usd(d.limit_usd)}${pct ? ` (${pct})` : ''}`;
  lines.push(
    `Dimension:  ${dimName(d.dimension)}`,
    `Spent:      ${usd(d.spent_usd)}`,
    `Limit:      ${usd(d.limit_usd)}`,
    ...(threshold !== undefined ? [`Threshold:  ${Math.round(threshold * 100)}% of the limit`] : []),
    `At:         ${toIso(e.timestampMs)}`,
    '',
    `The ${dimName(d.dimension)} budget of ${ref} has passed its warning threshold. This warning is sent once;`,
    'it is sent again only after a top-up brings spend back below the threshold.',
    '',
    'To add budget:',
    `  ${topUpCommand(ref, d.dimension, d.limit_usd)}`,
  );
  return { subject, text: lines.join('\n') + '\n' };
}

function exhausted(e: EventRecord, sb: SandboxFacts | undefined): BudgetNotice {
  const d = e.detail;
  const { ref, label, lines } = facts(e, sb);
  const compute = d.dimension === 'compute';
  const subject = `km: ${dimName(d.dimension)} budget exhausted for ${label}: ${usd(d.spent_usd)} of ${usd(d.limit_usd)}`;
  const effect = compute
    ? d.action === 'pause'
      ? `${ref} was paused (paused_by: budget); it resumes after a compute top-up.`
      : d.action === 'not_paused_locked'
        ? `${ref} is locked, so it was NOT paused: compute spend keeps accruing.`
        : `Compute spend of ${ref} is at or above its limit.`
    : `AI requests from ${ref} are refused (403 ai_budget_exhausted) until the AI budget is topped up; other traffic continues.`;
  lines.push(
    `Dimension:  ${dimName(d.dimension)}`,
    `Spent:      ${usd(d.spent_usd)}`,
    `Limit:      ${usd(d.limit_usd)}`,
    ...(num(d.overshoot_usd) ? [`Overshoot:  ${usd(d.overshoot_usd)} (responses already streaming were allowed to finish)`] : []),
    `At:         ${toIso(e.timestampMs)}`,
    '',
    effect,
    '',
    'To add budget:',
    `  ${topUpCommand(ref, d.dimension, d.limit_usd)}`,
  );
  return { subject, text: lines.join('\n') + '\n' };
}

function topup(e: EventRecord, sb: SandboxFacts | undefined): BudgetNotice {
  const d = e.detail;
  const { ref, label, lines } = facts(e, sb);
  const parts: string[] = [];
  if (num(d.ai_added_usd) !== undefined) parts.push(`AI +${usd(d.ai_added_usd)} (limit ${usd(d.ai_limit_usd)})`);
  if (num(d.compute_added_usd) !== undefined) parts.push(`compute +${usd(d.compute_added_usd)} (limit ${usd(d.compute_limit_usd)})`);
  const subject = `km: budget topped up for ${label}: ${parts.join(', ') || 'limits raised'}`;
  const rearmed = Array.isArray(d.rearmed) ? d.rearmed.map(dimName) : [];
  lines.push(
    ...(num(d.ai_added_usd) !== undefined ? [`AI:         +${usd(d.ai_added_usd)}, limit now ${usd(d.ai_limit_usd)}`] : []),
    ...(num(d.compute_added_usd) !== undefined ? [`Compute:    +${usd(d.compute_added_usd)}, limit now ${usd(d.compute_limit_usd)}`] : []),
    `At:         ${toIso(e.timestampMs)}`,
    '',
    ...(rearmed.length ? [`The ${rearmed.join(' and ')} warning is armed again.`] : []),
    ...(d.resumed === true ? [`${ref} was resumed (it had been paused by its compute budget).`] : []),
    `Details: km budget ${ref}`,
  );
  return { subject, text: lines.join('\n') + '\n' };
}

/** The notice for a budget event, or undefined for any other event type. */
export function budgetNotice(e: EventRecord, sandbox: SandboxFacts | undefined): BudgetNotice | undefined {
  if (e.eventType === 'budget.warning') return warning(e, sandbox);
  if (e.eventType === 'budget.exhausted') return exhausted(e, sandbox);
  if (e.eventType === 'budget.topup') return topup(e, sandbox);
  return undefined;
}
