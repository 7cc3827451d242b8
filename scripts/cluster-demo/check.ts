// The check (--check): what the README promises about several instances, on this cluster. The API
// calls go through the operators' typed tRPC client (packages/cli/src/client.ts), so a procedure
// renamed or an input reshaped in packages/api fails the type check here, not the demo on stage.
import { createClient } from '../../packages/cli/src/client';
import { sleep } from './children';
import { get } from './http';

// Each call bounded: a console that stopped answering fails the check instead of hanging it.
const bounded = () => ({ signal: AbortSignal.timeout(5000) });

export async function check(req: { lbUrl: string | null; urls: [string, string]; token: string; nodes: number }) {
  const [first, second] = req.urls.map((url) => createClient({ COOLANT_URL: url, COOLANT_TOKEN: req.token }));
  if (!first || !second) throw new Error('the check needs two consoles');
  const results: boolean[] = [];
  const record = (ok: boolean, what: string) => {
    results.push(ok);
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  console.log('\ncluster:demo: checking the cluster');

  if (req.lbUrl) {
    const seen = new Map<string, number>();
    for (let i = 0; i < 8; i++) {
      const r = await get(`${req.lbUrl}/api/health`);
      const upstream = r.headers.get('x-coolant-upstream') ?? '?';
      seen.set(upstream, (seen.get(upstream) ?? 0) + (r.status === 200 ? 1 : 0));
    }
    const answered = [...seen].map(([u, n]) => `${u} ×${n}`).join(', ');
    record(
      req.urls.every((u) => (seen.get(new URL(u).host) ?? 0) > 0),
      `both instances answer /api/health through nginx (${answered})`,
    );
  }

  // The fleet reports to console-1; console-2 sees it in the shared database.
  let summary: { online: number; gpus: number } | null = null;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(1000)) {
    summary = (await second.fleet.list.query(undefined, bounded())).summary;
    if (summary.online >= req.nodes) break;
  }
  record(
    (summary?.online ?? 0) >= req.nodes,
    `console-2 sees the fleet that reports to console-1: ${summary?.online ?? 0}/${req.nodes} nodes online, ${summary?.gpus ?? 0} GPUs`,
  );

  const pausedAt = Date.now();
  await first.tiers.pause.mutate({ tier: 'free', reason: 'cluster:demo --check' }, bounded());
  let decision: { allowed: boolean; reason: string | null } | null = null;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(100)) {
    decision = await second.admission.consume.mutate({ tier: 'free', subject: 'cluster-demo-check' }, bounded());
    if (decision.reason === 'tier_paused') break;
  }
  record(
    decision?.reason === 'tier_paused',
    `paused free on console-1; console-2 answers admission.consume with allowed=${decision?.allowed} reason=${decision?.reason} after ${Date.now() - pausedAt} ms`,
  );
  const listed = await second.tiers.list.query(undefined, bounded());
  const propagation = listed.tiers.find((t) => t.name === 'free')?.pause?.propagation ?? null;
  if (propagation) {
    const applied = propagation.instances.filter((i) => i.appliedAt).length;
    console.log(`       tiers.list: the pause is applied by ${applied} of ${propagation.instances.length} instances`);
  }
  await first.tiers.resume.mutate({ tier: 'free', reason: 'cluster:demo --check done' }, bounded());
  const after = await second.tiers.list.query(undefined, bounded());
  const free = after.tiers.find((t) => t.name === 'free');
  record(after.instances.length === 2, `tiers.list shows ${after.instances.length} live console instances`);
  record(!!free && !free.paused, 'resumed free on console-1; tiers.list on console-2 shows it unpaused');
  return results.every(Boolean);
}
