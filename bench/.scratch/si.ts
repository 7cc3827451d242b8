import { createCollector } from '@coolant/telemetry';
const c = createCollector({});
for (let i = 0; i < 4; i++) {
  const t = Date.now();
  const s = await c.collect({ timeoutMs: 10000 });
  console.log(i, Date.now() - t, s.health.hostMetrics.status, s.health.inventory.status, s.health.nvidiaSmi.status);
  await new Promise(r => setTimeout(r, 1000));
}
await c.close();
