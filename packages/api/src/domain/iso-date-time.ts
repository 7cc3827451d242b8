/**
 * The timestamps answers carry, for their output schemas: an answer is plain
 * JSON, so every Date leaves as Date.toISOString() (UTC, milliseconds). A
 * string with JSON Schema's `format: date-time` rather than z.iso.datetime():
 * nothing parses an answer, and its 400-character pattern, repeated at every
 * timestamp, would be most of the document.
 */
import { z } from 'zod';

export const ZIsoDateTime = z
  .string()
  .meta({ format: 'date-time', description: 'ISO 8601 date-time, UTC (e.g. 2026-11-28T06:00:00.000Z)' });
