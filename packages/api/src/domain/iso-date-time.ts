/**
 * The timestamps answers carry, for their output schemas: an answer is plain
 * JSON, so every Date leaves as Date.toISOString() (UTC, milliseconds).
 */
import { z } from 'zod';

export const ZIsoDateTime = z.iso.datetime().describe('ISO 8601 date-time, UTC (e.g. 2026-11-28T06:00:00.000Z)');
