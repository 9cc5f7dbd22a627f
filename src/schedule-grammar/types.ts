/** Public types of the schedule grammar. */

export type ScheduleKind = 'once' | 'recurring';

export interface Schedule {
  kind: ScheduleKind;
  /** What the user gave: the phrase, or the `--cron` expression. */
  input: string;
  /** Normalised: a 5-field cron, `rate(N unit)`, or an RFC 3339 instant with the zone's offset. */
  expression: string;
  /**
   * The EventBridge Scheduler expression (`at(…)`, `cron(…)`, `rate(…)`), or null when
   * EventBridge cannot express the schedule (intervals that are not whole minutes).
   */
  awsExpression: string | null;
  /** IANA zone the wall-clock parts are read in. */
  timeZone: string;
  /** Creation instant; fixed intervals (`rate(…)`) count from here. Set for rates only. */
  anchorMs?: number;
}

export interface ParseOptions {
  /** Reference time (ms since the epoch): "now" for relative phrases, the anchor of intervals. */
  now: number;
  /** IANA zone of the wall-clock parts. */
  timeZone: string;
}

export type ParseFailure = {
  ok: false;
  message: string;
  hint?: string;
  /** For leftovers: the part of the phrase that was understood, and what was left. */
  understood?: string;
  left?: string;
};

export type ParseResult = { ok: true; schedule: Schedule } | ParseFailure;
