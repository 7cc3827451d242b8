import { createCollector } from '@coolant/telemetry';
const timeoutMs = Number(process.argv[2] ?? 1000);
const c = createCollector({});
const out: string[] = [];
for (let i = 0; i < 10; i++) {
  const s = await c.collect({ timeoutMs });
  out.push(`${s.health.hostMetrics.status}/${s.health.durationMs}`);
  await new Promise(r => setTimeout(r, 200));
}
console.log(timeoutMs, out.join(' '));
await c.close();
