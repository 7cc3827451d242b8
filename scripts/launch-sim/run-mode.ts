/**
 * One mode of the launch, end to end: a fresh console (the built one, started as `npm start`
 * starts it), the light fleet's agents reporting the simulated GPUs, the gateways asking the
 * console for every generation, the launch's demand, 30 % of the nodes losing power at the set
 * moment, then a drain until every generation has ended, and what the console says afterwards.
 * Every call to the console has a deadline: a poll that fails is logged (with /api/health's answer
 * beside it), and a console that misses STALLED_POLLS polls in a row ends the mode with `trouble`
 * saying so, instead of a run that waits for an answer forever.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type TGateway } from '@coolant/gateway';
import { startLightFleet } from '../../apps/agent/src/sim/light-fleet';
import { startSimConsole } from './console';
import { rng, type TArrival, type TDemandPlan } from './demand';
import { Gateways } from './gateways';
import { GpuFleet, type TGpuModel } from './gpu-fleet';
import { ConsoleClient } from './http-client';
import { Observer } from './observer';
import {
  capacityView,
  enableCapacity,
  guardEvents,
  healthProbe,
  leaseSupport,
  setUpTiersAndGuard,
  type TCapacityView,
  type TGuardEvent,
  type TShare,
} from './setup';

export type TLaunchConfig = {
  plan: TDemandPlan;
  nodes: number;
  gpusPerNode: number;
  intervalSeconds: number;
  lossAt: number;
  lossShare: number;
  model: TGpuModel;
  shares: TShare[];
  ttlSeconds: number;
  maxAttempts: number;
  maxWaitSeconds: number;
  /** The gateway client's per-attempt timeout (its own default is 50 ms; the sim's 15 s measures the console). */
  gatewayTimeoutMs: number;
  log: (line: string) => void;
};

export type TMode = 'a' | 'b';

export type TModeResult =
  | { mode: TMode; ran: false; why: string }
  | {
      mode: TMode;
      ran: true;
      gateways: Gateways;
      observer: Observer;
      seconds: number;
      /** Seconds from the launch's start until every generation had ended. */
      wallSeconds: number;
      drainedAll: boolean;
      after: TCapacityView | null;
      guard: { t: number; event: TGuardEvent }[];
      agentWarnings: number;
      firstAgentWarning: string | null;
      /** Why the console's answers are missing from this mode (it stopped answering), or null. */
      trouble: string | null;
    };

const ENROLL = 'launch-sim-enroll-token-0123456789';
const TICK_MS = 100;
/** capacity.get polls (every 10 s, each with its own 10 s deadline) missed in a row before the mode gives up. */
const STALLED_POLLS = 3;

export async function runMode(mode: TMode, cfg: TLaunchConfig, arrivals: readonly TArrival[]): Promise<TModeResult> {
  const { log } = cfg;
  log(`(${mode}) starting a console`);
  const c = await startSimConsole({ COOLANT_ENROLL_TOKEN: ENROLL, COOLANT_NODE_OFFLINE_AFTER_SECONDS: '10' });
  log(`(${mode}) console at ${c.url} (pid ${c.pid})`);
  const admin = new ConsoleClient(c.url, c.adminToken, 4);
  const stateDir = mkdtempSync(join(tmpdir(), 'coolant-launch-sim-'));
  let gateway: TGateway | null = null;
  let lightFleet: ReturnType<typeof startLightFleet> | null = null;
  try {
    const tokens = await setUpTiersAndGuard(admin, cfg.model.hotC);
    // What a real gateway runs: @coolant/gateway with a gateway token and a viewer token for the fail modes.
    gateway = createGateway({
      url: c.url,
      token: tokens.gateway,
      tiersToken: tokens.viewer,
      timeoutMs: cfg.gatewayTimeoutMs,
    });
    await gateway.refreshFailModes();
    if (mode === 'b') {
      const why = await leaseSupport(gateway);
      if (why) return { mode, ran: false, why };
      await enableCapacity(admin, {
        slotsPerGpu: cfg.model.slotsPerGpu,
        hotWeight: cfg.model.hotWeight,
        shares: cfg.shares,
      });
    }
    const fleet = new GpuFleet(cfg.model, cfg.nodes, cfg.gpusPerNode, cfg.plan.seed);
    let agentWarnings = 0;
    let firstAgentWarning: string | null = null;
    lightFleet = startLightFleet({
      server: c.url,
      enrollToken: ENROLL,
      nodes: cfg.nodes,
      gpus: cfg.gpusPerNode,
      intervalSeconds: cfg.intervalSeconds,
      hot: 0,
      flaky: 0,
      prefix: 'launch',
      stateDir,
      jobNodes: 0,
      durable: false,
      log: (line) => {
        agentWarnings++;
        firstAgentWarning ??= line;
      },
      gpuLoad: (i) => fleet.loadHook(i),
    });
    log(`(${mode}) ${cfg.nodes} sim nodes enrolling and reporting every ~${cfg.intervalSeconds} s`);
    await waitForFleet(c.url, c.adminToken, cfg.nodes, cfg.nodes * cfg.gpusPerNode);

    const gateways = new Gateways(gateway, fleet, {
      leases: mode === 'b',
      ttlSeconds: cfg.ttlSeconds,
      maxAttempts: cfg.maxAttempts,
      maxWaitSeconds: cfg.maxWaitSeconds,
      clock: () => (performance.now() - t0) / 1000,
      lossAt: cfg.lossAt,
      seed: cfg.plan.seed,
    });
    const observer = new Observer(fleet, { ...cfg.plan, lossAt: cfg.lossAt }, shareOf(cfg.shares));
    const lost = pickNodes(cfg.nodes, cfg.lossShare, cfg.plan.seed);
    const startedAt = new Date();
    const t0 = performance.now();
    let next = 0;
    let last = 0;
    let lossDone = false;
    const seen: { view: TCapacityView | null } = { view: null };
    let polling = false;
    let pollAskedAt = 0;
    let lastPoll = -10;
    let missedInARow = 0;
    let trouble: string | null = null;
    const missed = (why: string) => {
      missedInARow++;
      const asked = pollAskedAt;
      void healthProbe(c.url).then((h) => {
        log(`(${mode}) capacity.get asked at ${asked.toFixed(0)} s: ${why}; ${h}`);
        if (missedInARow >= STALLED_POLLS && !trouble)
          trouble = `the console stopped answering capacity.get: ${missedInARow} polls in a row missed, the last asked at ${asked.toFixed(0)} s (${why}; ${h})`;
      });
    };
    log(
      `(${mode}) launch: ${arrivals.length} arrivals over ${cfg.plan.seconds} s; ${lost.length} nodes lose power at ${cfg.lossAt} s`,
    );
    for (;;) {
      await new Promise((r) => setTimeout(r, TICK_MS));
      const t = (performance.now() - t0) / 1000;
      const dt = t - last;
      last = t;
      while (next < arrivals.length && arrivals[next]!.at <= t) gateways.submit(arrivals[next++]!);
      if (!lossDone && t >= cfg.lossAt) {
        lossDone = true;
        for (const n of lost) {
          fleet.killNode(n);
          lightFleet.nodes[n]!.powerOff();
        }
      }
      fleet.tick(dt);
      observer.sample(t, dt);
      if (t - lastPoll >= 10) {
        lastPoll = t;
        if (polling) missed(`no answer yet after ${(t - pollAskedAt).toFixed(0)} s`);
        else {
          polling = true;
          pollAskedAt = t;
          void capacityView(c.url, c.adminToken)
            .then((v) => {
              seen.view = v;
              missedInARow = 0;
            })
            .catch((e: Error) => missed(`${e.name}: ${e.message}`))
            .finally(() => (polling = false));
        }
        const p = observer.timeline.at(-1);
        if (p)
          log(
            `(${mode}) ${t.toFixed(0)} s: C ${p.capacity} (console ${seen.view ? `${seen.view.nodesOnline} nodes online, ${seen.view.usableGpus} GPUs usable${mode === 'b' ? `, C ${seen.view.slots}, in flight ${seen.view.inflight}` : ''}` : '?'}), on GPUs free ${p.busy.free} plus ${p.busy.plus} pro ${p.busy.pro}, ${p.hotGpus} hot, max ${p.maxTemp.toFixed(1)} °C, ${gateways.pending()} requests pending, ${gateways.decisions} decisions`,
          );
      }
      if (trouble) {
        log(`(${mode}) ${t.toFixed(0)} s: giving up on this mode: ${trouble}`);
        break;
      }
      if (t >= cfg.plan.seconds && (gateways.pending() === 0 || t >= cfg.plan.seconds + 40)) break;
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    log(
      `(${mode}) ${wallSeconds.toFixed(0)} s: launch over, ${gateways.pending()} requests pending; reading the console's counts`,
    );
    const drainedAll = gateways.pending() === 0;
    // The console's count of leases in flight once every generation has ended: what leaked.
    const after =
      mode === 'b' && !trouble
        ? await capacityView(c.url, c.adminToken).catch(async (e: Error) => {
            trouble ??= `capacity.get after the drain: ${e.name}: ${e.message}; ${await healthProbe(c.url)}`;
            return null;
          })
        : null;
    const events = trouble
      ? []
      : await guardEvents(c.url, c.adminToken).catch(async (e: Error) => {
          trouble ??= `guard.history after the drain: ${e.name}: ${e.message}; ${await healthProbe(c.url)}`;
          return [];
        });
    const guard = events
      .filter((e) => Date.parse(e.at) >= startedAt.getTime())
      .map((event) => ({ t: (Date.parse(event.at) - startedAt.getTime()) / 1000, event }));
    if (trouble) log(`(${mode}) ${trouble}`);
    return {
      mode,
      ran: true,
      gateways,
      observer,
      seconds: cfg.plan.seconds,
      wallSeconds,
      drainedAll,
      after,
      guard,
      agentWarnings,
      firstAgentWarning,
      trouble,
    };
  } finally {
    // The agents' loops end on abort; should one not, the run says so and goes on to stop the console.
    if (lightFleet) {
      const stopped = await Promise.race([
        lightFleet.stop({ drain: false }).then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 30_000).unref()),
      ]);
      if (!stopped) log(`(${mode}) the simulated fleet did not stop in 30 s; stopping the console anyway`);
    }
    gateway?.close();
    admin.close();
    await c.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(c.dataDir, { recursive: true, force: true });
  }
}

function shareOf(shares: TShare[]): Record<'plus' | 'pro', number> {
  const r = (t: string) => shares.find((s) => s.tier === t)?.reserved ?? 0;
  return { plus: r('plus'), pro: r('pro') };
}

/** The nodes that lose power: the same ones in both modes (seeded). */
function pickNodes(nodes: number, share: number, seed: number): number[] {
  const next = rng(seed ^ 0x10ad);
  const all = Array.from({ length: nodes }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, Math.round(nodes * share)).sort((a, b) => a - b);
}

/** Until every node is online with its GPUs seen (capacity.get counts them whether or not capacity is enabled). */
async function waitForFleet(url: string, token: string, nodes: number, gpus: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  let v: TCapacityView | null = null;
  while (Date.now() < deadline) {
    v = await capacityView(url, token).catch(() => null);
    if (v && v.nodesOnline >= nodes && v.usableGpus >= gpus) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `the fleet did not come up in 120 s: ${v ? `${v.nodesOnline}/${nodes} nodes online, ${v.usableGpus}/${gpus} GPUs usable` : 'capacity.get did not answer'}`,
  );
}
