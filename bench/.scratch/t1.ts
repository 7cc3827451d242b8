import { startConsole, trpc } from '../../apps/console/test/support/console-process';
const t0 = Date.now();
const c = await startConsole();
console.log('started in', Date.now() - t0, c.url);
console.log(await trpc(c.url, 'tiers.list', undefined, c.adminToken, 'GET').then(r => JSON.stringify(r.data).slice(0, 1500)));
const t1 = Date.now();
await c.stop();
console.log('stopped in', Date.now() - t1);
console.log(c.output());
