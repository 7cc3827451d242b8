/**
 * @coolant/telemetry: GPU and host telemetry for the agent.
 *
 * Server and browser code should import the wire format from `@coolant/telemetry/schema`, which
 * pulls in neither systeminformation nor node:child_process. It is re-exported here so the agent
 * needs one import. The inventory child side, runCollectorChild(), is only in `@coolant/telemetry/collector-child`
 * so the agent process never loads it by accident.
 */
export * from './schema.ts';
export {
  collectSample,
  createCollector,
  INVENTORY_REFRESH_MS,
  INVENTORY_RETRY_MS,
  type TCollectOptions,
  type TCollector,
  type TCollectorOptions,
} from './collector.ts';
export {
  parseQueryGpuCsv,
  isUnknownToken,
  type TParseQueryGpuOptions,
  type TQueryGpuParseResult,
  type TQueryGpuRow,
} from './query-gpu-csv.ts';
export { parseHelpQueryGpu, type THelpQueryGpu } from './help-query-gpu.ts';
export { gpuSampleFromRow, selectQueryFields, type TQueryFieldSelection } from './gpu-fields.ts';
export { decodeThrottleReasons } from './throttle-reasons.ts';
export { compareInventory, type TInventoryComparison } from './inventory.ts';
export { Spool, type TSpoolOptions, type TSpoolStats } from './spool.ts';
export { defaultWorkerLaunch, workerLaunchFor, type TWorkerLaunch } from './si-worker-client.ts';
export { HostMetricsReader, type THostFiles, type THostMetrics } from './host-metrics.ts';
