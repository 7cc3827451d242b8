/**
 * Node.host, Node.health and GpuState.throttleReasons hold JSON of the telemetry package's schemas,
 * validated when the report came in. They are read back through the same schemas, not cast: a row
 * written by an older console, or damaged, is then reported as unreadable by name (the fleet views
 * list it in `dataProblems`) instead of flowing on as a shape it is not.
 */
import {
  ZCollectorHealth,
  ZHostSample,
  ZThrottleReasons,
  type TCollectorHealth,
  type THostSample,
  type TThrottleReasons,
} from '@coolant/telemetry/schema';
import type { ZodType } from 'zod';

/** A stored JSON value: the value when it reads, else null and a problem naming the column and field. */
export type TStored<T> = { value: T | null; problem: string | null };

function readStored<T>(req: { json: string | null; schema: ZodType<T>; column: string }): TStored<T> {
  if (req.json === null || req.json === '') return { value: null, problem: null };
  let data: unknown;
  try {
    data = JSON.parse(req.json);
  } catch (error) {
    return { value: null, problem: `${req.column}: not JSON (${(error as Error).message})` };
  }
  const parsed = req.schema.safeParse(data);
  if (parsed.success) return { value: parsed.data, problem: null };
  const issue = parsed.error.issues[0];
  const at = issue && issue.path.length ? `.${issue.path.join('.')}` : '';
  return { value: null, problem: `${req.column}${at}: ${issue?.message ?? 'does not match its schema'}` };
}

export function readStoredHealth(req: { json: string | null }): TStored<TCollectorHealth> {
  return readStored({ json: req.json, schema: ZCollectorHealth, column: 'Node.health' });
}

export function readStoredHost(req: { json: string | null }): TStored<THostSample> {
  return readStored({ json: req.json, schema: ZHostSample, column: 'Node.host' });
}

export function readStoredThrottleReasons(req: { json: string | null }): TStored<TThrottleReasons> {
  return readStored({ json: req.json, schema: ZThrottleReasons, column: 'GpuState.throttleReasons' });
}
