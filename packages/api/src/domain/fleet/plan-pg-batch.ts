/**
 * A PostgreSQL ingest batch decided in memory, before anything is written: every report against
 * the node rows locked for it (each report of a node sees what the earlier ones did), and the rows
 * the batch's statements will carry. Per report, a node that is gone or revoked gets its own error.
 */
import type { TTelemetrySample } from '@coolant/telemetry/schema';
import { AppError } from '../../lib/app-error';
import { freshSamples, GONE_MESSAGE, gpuIndexOf, healthFailing, sortedSamples, type TNodeRow } from './ingest-node';
import type { TIngestReport, TIngestResult } from './ingest-report';
import { gpuStateValues } from './ingest-sql';
import { columns } from './ingest-batch-pg-sql';

export type TBatchOutcome = TIngestResult | AppError;

export type TMinute = {
  nodeId: string;
  gpuIndex: number;
  minute: number;
  samples: number;
  utilSum: number;
  utilCount: number;
  utilMax: number | null;
  tempMax: number | null;
  powerSum: number;
  powerCount: number;
  memMax: number | null;
};
type TNodeUpdate = {
  prevSeq: number;
  seq: number;
  sampledAt: string;
  gpuCount: number;
  host: string;
  health: string;
  failures: number;
  dropped: number;
  interval: number;
  agent: string | null;
};
/** A node as the batch has it so far: the row read, then each of its reports applied in order. */
export type TNodeState = { row: TNodeRow; readSeq: number; seenAt: string; update: TNodeUpdate | null };

const maxOrNull = (a: number | null, b: number | null) => (b === null ? a : a === null || b > a ? b : a);

export type TPgBatchPlan = {
  outcomes: TBatchOutcome[];
  /** GpuSample rows as columns, one array per parameter. */
  samples: unknown[][];
  /** One row per node, GPU and minute: an upsert may not touch a row twice in one statement. */
  minutes: Map<string, TMinute>;
  /** The latest GpuState row per node and GPU. */
  states: Map<string, unknown[]>;
};

/** `nodes` holds the locked rows and is updated in place: what the batch leaves each node at. */
export function planPgBatch(req: { reports: TIngestReport[]; nodes: Map<string, TNodeState> }): TPgBatchPlan {
  const { reports, nodes } = req;
  const samples = columns(7);
  const minutes = new Map<string, TMinute>();
  const states = new Map<string, unknown[]>();
  const outcomes = reports.map((report): TBatchOutcome => {
    const node = nodes.get(report.nodeId);
    if (!node) return new AppError('NOT_FOUND', GONE_MESSAGE);
    const sorted = sortedSamples(report.samples);
    let fresh: TTelemetrySample[];
    try {
      fresh = freshSamples({ sorted, node: node.row });
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    node.seenAt = report.now.toISOString();
    if (fresh.length === 0)
      return { acceptedUpTo: node.row.lastSeq, accepted: 0, duplicates: sorted.length, gpuSamples: 0 };
    let gpuSamples = 0;
    let failures = node.row.collectorFailures;
    for (const s of fresh) {
      failures = healthFailing(s) ? failures + 1 : 0;
      const atMs = Date.parse(s.collectedAt);
      const minute = Math.floor(atMs / 60_000);
      gpuSamples += s.gpus.length;
      s.gpus.forEach((g, i) => {
        const gpuIndex = gpuIndexOf({ gpu: g, position: i });
        const row = [report.nodeId, gpuIndex, atMs, g.utilizationGpu, g.temperatureGpu, g.memoryUsedMiB, g.powerDrawW];
        row.forEach((v, c) => samples[c]!.push(v));
        // One row per minute and GPU: an upsert may not touch a row twice in one statement.
        const key = `${report.nodeId}\u0000${gpuIndex}\u0000${minute}`;
        const m = minutes.get(key) ?? {
          nodeId: report.nodeId,
          gpuIndex,
          minute,
          samples: 0,
          utilSum: 0,
          utilCount: 0,
          utilMax: null,
          tempMax: null,
          powerSum: 0,
          powerCount: 0,
          memMax: null,
        };
        m.samples += 1;
        m.utilSum += g.utilizationGpu ?? 0;
        m.utilCount += g.utilizationGpu === null ? 0 : 1;
        m.utilMax = maxOrNull(m.utilMax, g.utilizationGpu);
        m.tempMax = maxOrNull(m.tempMax, g.temperatureGpu);
        m.powerSum += g.powerDrawW ?? 0;
        m.powerCount += g.powerDrawW === null ? 0 : 1;
        m.memMax = maxOrNull(m.memMax, g.memoryUsedMiB);
        minutes.set(key, m);
      });
    }
    const latest = fresh[fresh.length - 1]!;
    const sampledAt = new Date(latest.collectedAt).toISOString();
    latest.gpus.forEach((g, i) => {
      const gpuIndex = gpuIndexOf({ gpu: g, position: i });
      // A later report of the same node in this batch replaces the reading, as its upsert would.
      states.set(
        `${report.nodeId}\u0000${gpuIndex}`,
        gpuStateValues({ nodeId: report.nodeId, gpu: g, gpuIndex, sampledAt, flag: (b) => b }),
      );
    });
    node.update = {
      prevSeq: node.readSeq,
      seq: latest.seq,
      sampledAt,
      gpuCount: latest.gpus.length,
      host: JSON.stringify(latest.host),
      health: JSON.stringify(latest.health),
      failures,
      dropped: latest.spoolDropped,
      interval: report.intervalSeconds,
      agent: report.agentVersion ?? node.update?.agent ?? null,
    };
    node.row = { ...node.row, lastSeq: latest.seq, collectorFailures: failures };
    return { acceptedUpTo: latest.seq, accepted: fresh.length, duplicates: sorted.length - fresh.length, gpuSamples };
  });

  return { outcomes, samples, minutes, states };
}
