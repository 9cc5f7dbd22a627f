/** Decoding SQLite column values into typed record fields. */
import type { Row } from './db.ts';

export const str = (r: Row, k: string): string => String(r[k]);
export const optStr = (r: Row, k: string): string | null => (r[k] === null || r[k] === undefined ? null : String(r[k]));
export const num = (r: Row, k: string): number => Number(r[k]);
export const optNum = (r: Row, k: string): number | null => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
export const bool = (r: Row, k: string): boolean => Number(r[k]) !== 0;
export const json = (r: Row, k: string): unknown => (r[k] === null || r[k] === undefined ? null : JSON.parse(String(r[k])));

/** Undefined → keep the column (used to build targeted updates). */
export const toDb = (v: string | number | boolean | null | undefined): string | number | null | undefined =>
  typeof v === 'boolean' ? (v ? 1 : 0) : v;

/** `?, ?, ?` for n parameters. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * `SET a = ?, b = ?` from the defined entries of `fields` (column names given by `columns`),
 * plus the values in order. Entries that are undefined are left untouched.
 */
export function setClause<T extends object>(
  fields: T,
  columns: { [K in keyof T]?: string },
  encode: (key: keyof T, value: unknown) => string | number | null = (_k, v) => toDb(v as never) ?? null,
): { sql: string; values: Array<string | number | null> } {
  const parts: string[] = [];
  const values: Array<string | number | null> = [];
  for (const key of Object.keys(columns) as Array<keyof T>) {
    const value = fields[key];
    if (value === undefined) continue;
    parts.push(`${columns[key] as string} = ?`);
    values.push(encode(key, value));
  }
  return { sql: parts.join(', '), values };
}
