/**
 * Telemetry records (SPEC §13.4): what the OTLP receiver keeps per sandbox, one row per log
 * record, metric data point or span, already redacted and attributed to the sandbox by the
 * connection it arrived on.
 */

export type TelemetrySignal = 'logs' | 'metrics' | 'traces';

export interface NewTelemetry {
  sandboxId: string;
  signal: TelemetrySignal;
  /** The record's own time (log/point/span start), falling back to the receive time. */
  timestampMs: number;
  receivedAtMs: number;
  /** Event name (logs), metric name (metrics) or span name (traces). */
  name: string;
  /** Attributes, body/value and signal-specific fields (JSON). */
  data: Record<string, unknown>;
}

export interface TelemetryRecord extends NewTelemetry {
  /** Monotonic append id. */
  seq: number;
}

export interface TelemetryQuery {
  sandboxId: string;
  signals?: readonly TelemetrySignal[];
  /** Exact names. */
  names?: readonly string[];
  sinceMs?: number;
  limit?: number;
}

export interface TelemetryCount {
  signal: TelemetrySignal;
  count: number;
  /** Newest record time of that signal. */
  lastAtMs: number;
}

export interface TelemetryStore {
  /** Appends in one transaction; returns how many rows were written. */
  appendTelemetry(records: readonly NewTelemetry[]): Promise<number>;
  /** Oldest first (ties in append order). */
  queryTelemetry(query: TelemetryQuery): Promise<TelemetryRecord[]>;
  /** Per signal that has records, sorted by signal name. */
  telemetryCounts(sandboxId: string, options?: { sinceMs?: number }): Promise<TelemetryCount[]>;
  /** Removes a sandbox's telemetry; returns the number of rows removed. */
  deleteTelemetry(sandboxId: string): Promise<number>;
}
