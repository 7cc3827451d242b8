/**
 * What each mode of the launch asks of a fresh console before the launch starts, all through its
 * API as an admin would: the three tiers and their per-user quotas, the guard's launch-day rule
 * (hot GPUs: first a tighter per-user limit on free, then pause free), a gateway token, and in
 * fleet-aware mode the capacity shares, after checking that the console speaks leases at all.
 */
import { CoolantCallError, type TGateway } from '@coolant/gateway';
import { type ConsoleClient } from './http-client';

export type TShare = { tier: string; priority: number; reserved: number };

export const QUOTAS: Record<string, number> = { free: 3, plus: 200, pro: 2000 };

/** Today's launch-day guard: evaluated every 2 s over a 10 s window (time is compressed). */
export function launchGuardConfig(hotC: number) {
  return {
    intervalSeconds: 2,
    windowSeconds: 10,
    stallSeconds: 30,
    maxActionsPerHour: 30,
    // The sim's own tier set-up is an operator change: no grace, or the guard would leave free alone.
    operatorGraceMinutes: 0,
    webhook: null,
    rules: [
      {
        id: 'launch-hot',
        signal: 'hot_share',
        temperatureC: hotC,
        trip: 0.2,
        clear: 0.05,
        tripWindowSeconds: 6,
        clearWindowSeconds: 15,
        ladder: [
          { tier: 'free', action: 'limit', window: 'day', limit: 1 },
          { tier: 'free', action: 'pause' },
        ],
      },
    ],
  };
}

/** A call that must succeed; the console's own message otherwise. */
export async function must<T>(admin: ConsoleClient, path: string, input: unknown): Promise<T> {
  const r = await admin.call<T>(path, input);
  if (r.status !== 200 || r.error) throw new Error(`${path} → HTTP ${r.status}: ${r.error?.message ?? 'no message'}`);
  return r.data as T;
}

/** The gateways' two tokens: `gateway` for admission.*, `viewer` for tiers.list (each tier's failMode). */
export type TGatewayTokens = { gateway: string; viewer: string };

export async function setUpTiersAndGuard(admin: ConsoleClient, hotC: number): Promise<TGatewayTokens> {
  for (const tier of Object.keys(QUOTAS)) {
    const r = await admin.call('tiers.create', { name: tier });
    if (r.status !== 200 && r.error?.code !== 'CONFLICT') throw new Error(`tiers.create ${tier}: ${r.error?.message}`);
    await must(admin, 'tiers.setLimit', { tier, window: 'day', limit: QUOTAS[tier], reason: 'launch sim' });
  }
  await must(admin, 'guard.update', { config: launchGuardConfig(hotC), reason: 'launch sim' });
  await must(admin, 'guard.arm', { reason: 'launch sim' });
  const gw = await must<{ secret: string }>(admin, 'tokens.create', { name: 'launch gateways', role: 'gateway' });
  const viewer = await must<{ secret: string }>(admin, 'tokens.create', {
    name: 'launch gateways: tiers',
    role: 'viewer',
  });
  return { gateway: gw.secret, viewer: viewer.secret };
}

/**
 * Whether this console does fleet-aware admission as issue 13 names it: a consume that asks for a
 * lease is answered with `lease: {id, expiresAt}`, and admission.release takes it back, both
 * through the gateways' own client. Returns null when it does, else why not (the console's own
 * words). Run before capacity is enabled, so a refusal for capacity cannot hide the answer's shape.
 */
export async function leaseSupport(gateway: TGateway): Promise<string | null> {
  let d;
  try {
    d = await gateway.admit({
      tier: 'pro',
      subject: 'launch-sim-probe',
      cost: 1,
      requestId: 'launch-sim-probe',
      lease: { ttlSeconds: 30 },
    });
  } catch (e) {
    const code = e instanceof CoolantCallError ? `HTTP ${e.status} ${e.code}` : (e as Error).name;
    return `admission.consume with a lease → ${code}: ${(e as Error).message}`;
  }
  if (d.source === 'fail_mode') return `admission.consume with a lease: no answer (${d.unavailable}: ${d.message})`;
  // A console without leases answers allowed with no lease (the client reads a missing field as null).
  if (d.allowed !== true || !d.lease)
    return `admission.consume with a lease, capacity disabled, answered ${JSON.stringify(d).slice(0, 300)}`;
  try {
    await d.lease.release('done');
  } catch (e) {
    const code = e instanceof CoolantCallError ? `HTTP ${e.status} ${e.code}` : (e as Error).name;
    return `admission.release → ${code}: ${(e as Error).message}`;
  }
  return null;
}

export async function enableCapacity(
  admin: ConsoleClient,
  c: { slotsPerGpu: number; hotWeight: number; shares: TShare[] },
): Promise<void> {
  await must(admin, 'capacity.configure', { enabled: true, ...c, reason: 'launch sim' });
}

export type TCapacityView = {
  enabled: boolean;
  state: string;
  slots: number;
  usableGpus: number;
  hotGpus: number;
  nodesOnline: number;
  nodesOffline: number;
  inflight: number;
  tiers: { tier: string; inflight: number; reservedSlots: number; leasesExpired?: number }[];
};

/** How long the admin's own reads may take before the sim calls the console unresponsive. */
export const ADMIN_READ_TIMEOUT_MS = 10_000;

/**
 * capacity.get is a query: GET with the input in the URL, as tRPC serves it. The deadline covers
 * the body as well (the signal aborts its stream), so an answer that stops half-way rejects too.
 */
export async function capacityView(
  url: string,
  token: string,
  timeoutMs = ADMIN_READ_TIMEOUT_MS,
): Promise<TCapacityView> {
  const r = await fetch(`${url}/api/trpc/capacity.get`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await r.json()) as { result?: { data: TCapacityView }; error?: { message: string } };
  if (!json.result) throw new Error(`capacity.get → HTTP ${r.status}: ${json.error?.message ?? 'no message'}`);
  return json.result.data;
}

export type TGuardEvent = { at: string; kind: string; tier: string | null; action: string | null; message: string };

export async function guardEvents(
  url: string,
  token: string,
  timeoutMs = ADMIN_READ_TIMEOUT_MS,
): Promise<TGuardEvent[]> {
  const input = encodeURIComponent(JSON.stringify({ limit: 100, kinds: ['trip', 'step', 'unstep', 'clear'] }));
  const r = await fetch(`${url}/api/trpc/guard.history?input=${input}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await r.json()) as { result?: { data: { events: TGuardEvent[] } } };
  return (json.result?.data.events ?? []).reverse();
}

/** /api/health within `timeoutMs`: what it answered, or why not (told apart from capacity.get's own trouble). */
export async function healthProbe(url: string, timeoutMs = 5_000): Promise<string> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.text();
    return `/api/health HTTP ${r.status} in ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (e) {
    return `/api/health no answer (${(e as Error).name}: ${(e as Error).message}) after ${(performance.now() - t0).toFixed(0)} ms`;
  }
}
