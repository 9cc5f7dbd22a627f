/**
 * What a schedule runs (SPEC §11.1), as stored with it: one explicit shape per schedulable
 * command. Anything that does not decode to one of these shapes is rejected, never run and
 * never treated as a teardown (SPEC §17.1).
 */
import { z } from 'zod';

export const SCHEDULED_COMMAND_NAMES = ['create', 'destroy', 'stop', 'pause', 'resume', 'extend', 'budget-add', 'agent-run'] as const;
export type ScheduledCommandName = (typeof SCHEDULED_COMMAND_NAMES)[number];

const sandbox = z.string().min(1).max(64);
const usd = z.number().positive().finite();

/** A scheduled create carries the profile resolved when it was scheduled (SPEC §11.1). */
const CreateSchema = z.strictObject({
  name: z.literal('create'),
  profile: z.record(z.string(), z.unknown()),
  profileName: z.string().min(1),
  alias: z.string().min(1).max(32).nullable(),
  overrides: z.record(z.string(), z.unknown()),
  config: z.record(z.string(), z.unknown()),
  timeZone: z.string().min(1),
});

const StopSchema = z.strictObject({ name: z.literal('stop'), sandbox });
const PauseSchema = z.strictObject({ name: z.literal('pause'), sandbox });
const ResumeSchema = z.strictObject({ name: z.literal('resume'), sandbox });
const DestroySchema = z.strictObject({ name: z.literal('destroy'), sandbox, purge: z.boolean() });
const ExtendSchema = z
  .strictObject({
    name: z.literal('extend'),
    sandbox,
    byS: z.number().int().positive().nullable(),
    byText: z.string().nullable(),
    idleS: z.number().int().nonnegative().nullable(),
  })
  .refine((c) => c.byS !== null || c.idleS !== null, 'extend needs a duration or an idle timeout');
const BudgetAddSchema = z
  .strictObject({ name: z.literal('budget-add'), sandbox, aiUsd: usd.nullable(), computeUsd: usd.nullable() })
  .refine((c) => c.aiUsd !== null || c.computeUsd !== null, 'budget-add needs an AI or a compute amount');
const AgentRunSchema = z.strictObject({
  name: z.literal('agent-run'),
  sandbox,
  prompt: z.string().refine((p) => p.trim() !== '', 'the prompt is empty'),
  /** null: the profile's `cli.agent`. */
  agent: z.enum(['claude', 'codex', 'goose']).nullable(),
  autoStart: z.boolean(),
  noBedrock: z.boolean(),
  /** null: the default (8h). */
  runTimeoutS: z.number().int().positive().nullable(),
  /** Extra agent arguments (after `--`). */
  args: z.array(z.string()),
});

export const ScheduledCommandSchema = z.union([CreateSchema, StopSchema, PauseSchema, ResumeSchema, DestroySchema, ExtendSchema, BudgetAddSchema, AgentRunSchema]);

export type ScheduledCreate = z.infer<typeof CreateSchema>;
export type ScheduledCommand = z.infer<typeof ScheduledCommandSchema>;

export type DecodedCommand = { ok: true; command: ScheduledCommand } | { ok: false; message: string };

/** Decodes a stored or submitted command; unknown names and malformed shapes are refused. */
export function decodeCommand(value: unknown): DecodedCommand {
  const name = value !== null && typeof value === 'object' ? (value as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || !(SCHEDULED_COMMAND_NAMES as readonly string[]).includes(name)) {
    const shown = typeof name === 'string' ? `"${name}"` : 'a command without a name';
    return { ok: false, message: `${shown} cannot be scheduled; schedulable: ${SCHEDULED_COMMAND_NAMES.join(', ')}` };
  }
  const r = ScheduledCommandSchema.safeParse(value);
  if (r.success) return { ok: true, command: r.data };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
  return { ok: false, message: `malformed ${name} command${where}: ${issue?.message ?? 'invalid'}` };
}

/** The sandbox reference a command acts on; for create, the alias it will get (if any). */
export function commandSandbox(c: ScheduledCommand): string | null {
  return c.name === 'create' ? c.alias : c.sandbox;
}
