import type { ValueTransformer } from 'typeorm';

/**
 * Dates are stored as ISO 8601 text (`2026-01-02T03:04:05.678Z`): the same on SQLite and
 * PostgreSQL, sortable as text, and free of time-zone conversions by either driver.
 */
export const isoDate: ValueTransformer = {
  to: (value: Date | undefined) => (value instanceof Date ? value.toISOString() : value),
  from: (value: string | null) => (value === null ? value : new Date(value)),
};

/** Whole numbers beyond 32 bits (millisecond times): PostgreSQL's driver returns bigint as text. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? value : Number(value)),
};
