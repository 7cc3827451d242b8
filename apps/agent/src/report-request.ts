/**
 * The body of one `agent.report` call, built in one place so that what `coolant-agent probe --json`
 * prints is the object the sender posts, not a look-alike that could drift from it.
 */
import { ZTelemetrySample, type TTelemetrySample } from '@coolant/telemetry';
import { z } from 'zod';
import { MAX_BATCH_SAMPLES } from './deliver';
import { AGENT_VERSION } from './version';

/** The console's agent.report input, as this agent fills it: the samples are the telemetry package's schema. */
export const ZAgentReport = z.strictObject({
  agentVersion: z.string().max(64),
  intervalSeconds: z.number().min(1).max(3600),
  samples: z.array(ZTelemetrySample).min(1).max(MAX_BATCH_SAMPLES),
});
export type TAgentReport = z.infer<typeof ZAgentReport>;

export function reportRequest(req: { intervalSeconds: number; samples: TTelemetrySample[] }): TAgentReport {
  return { agentVersion: AGENT_VERSION, intervalSeconds: req.intervalSeconds, samples: req.samples };
}
