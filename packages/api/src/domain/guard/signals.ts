/** The fleet figures the guard's rules read, computed from the raw samples of online nodes over the sliding window. */
import type { TDb } from '@coolant/db';
import { nodeStatus } from '../fleet/node-status';
import type { TGuardConfig, TSignalKind } from './guard-config';

export type TSignalValues = Record<TSignalKind, number | null>;

export type TFleetSignals =
  | { data: true; at: string; gpus: number; nodes: number; values: TSignalValues }
  | { data: false; at: string; reason: string; gpus: number; nodes: number };

/**
 * What a rule reads: the fleet figures (also shown and stored as they are) and the per-GPU mean
 * temperatures behind them, so a rule with its own temperature gets its own hot share.
 */
export type TFleetReading = { signals: TFleetSignals; temps: readonly number[] };

/**
 * The guard's view of the fleet over the sliding window: per-GPU means of the
 * raw samples of online nodes, then the fleet figures. Missing telemetry is
 * reported as such (never as a number), so it can count neither as cool nor as hot.
 */
export async function computeSignals(req: {
  db: TDb;
  now: Date;
  config: TGuardConfig;
  offlineAfterMs: number;
}): Promise<TFleetReading> {
  const { db, now, config } = req;
  const at = now.toISOString();
  const nodes = await db.node.findMany({
    where: { revokedAt: null, lastSeenAt: { not: null } },
    select: { id: true, lastSeenAt: true, revokedAt: true, intervalSeconds: true },
  });
  const status = new Map(nodes.map((n) => [n.id, nodeStatus({ node: n, now, offlineAfterMs: req.offlineAfterMs })]));
  const online = nodes.filter((n) => status.get(n.id) === 'online');
  if (online.length === 0)
    return {
      temps: [],
      signals: {
        data: false,
        at,
        reason: nodes.length ? 'no online node' : 'no node has ever reported',
        gpus: 0,
        nodes: nodes.length,
      },
    };
  const fromMs = BigInt(now.getTime() - config.windowSeconds * 1000);
  const rows = await db.gpuSample.groupBy({
    by: ['nodeId', 'gpuIndex'],
    where: { atMs: { gte: fromMs, lte: BigInt(now.getTime()) }, nodeId: { in: online.map((n) => n.id) } },
    _avg: { temperatureGpu: true, utilizationGpu: true },
    _max: { atMs: true },
  });
  if (rows.length === 0)
    return {
      temps: [],
      signals: {
        data: false,
        at,
        reason: 'no GPU sample from an online node in the window',
        gpus: 0,
        nodes: nodes.length,
      },
    };
  const newest = Math.max(...rows.map((r) => Number(r._max.atMs ?? 0)));
  if (now.getTime() - newest > config.stallSeconds * 1000) {
    return {
      temps: [],
      signals: {
        data: false,
        at,
        reason: `ingest stalled: newest sample ${Math.round((now.getTime() - newest) / 1000)} s old`,
        gpus: rows.length,
        nodes: nodes.length,
      },
    };
  }
  const temps = rows
    .map((r) => r._avg.temperatureGpu)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const utils = rows.map((r) => r._avg.utilizationGpu).filter((u): u is number => u !== null);
  const offline = nodes.filter((n) => status.get(n.id) !== 'online').length;
  const hotShare = (threshold: number) =>
    temps.length ? temps.filter((t) => t >= threshold).length / temps.length : null;
  const values: TSignalValues = {
    // hot_share at the default temperature; rules with their own temperature get theirs through signalFor().
    hot_share: hotShare(85),
    p90_temperature: temps.length ? round(temps[Math.min(temps.length - 1, Math.ceil(0.9 * temps.length) - 1)]!) : null,
    mean_utilization: utils.length ? round(utils.reduce((a, b) => a + b, 0) / utils.length) : null,
    offline_share: round(offline / nodes.length),
  };
  return { temps, signals: { data: true, at, gpus: rows.length, nodes: nodes.length, values } };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The value a rule reads from the fleet figures (null: no data for it). */
export function signalFor(reading: TFleetReading, rule: { signal: TSignalKind; temperatureC: number }): number | null {
  const { signals, temps } = reading;
  if (!signals.data) return null;
  if (rule.signal === 'hot_share')
    return temps.length ? round(temps.filter((t) => t >= rule.temperatureC).length / temps.length) : null;
  return signals.values[rule.signal];
}
