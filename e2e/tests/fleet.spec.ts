import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN, createUser, ENROLL_TOKEN, login } from './helpers';

const ROOT = resolve(import.meta.dirname, '../..');

/** One real agent with the simulated nvidia-smi of scripts/fleet-sim, as `npm run fleet:sim` starts them. */
function startAgent(baseURL: string, hostname: string, profile: 'normal' | 'hot'): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), `coolant-e2e-${hostname}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'scripts/fleet-sim/fake-nvidia-smi.mjs')}" "$@"\n`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'apps/agent/src/main.ts'), '--server', baseURL, '--state-dir', join(dir, 'state'), '--interval', '1', '--hostname', hostname], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, COOLANT_ENROLL_TOKEN: ENROLL_TOKEN, SIM_SEED: String(hostname.length), SIM_GPUS: '4', SIM_PROFILE: profile },
    stdio: 'ignore',
  });
}

test('the simulated fleet appears, a hot GPU raises an alert, a stopped agent goes stale then offline, the node page charts', async ({ page, request, baseURL }) => {
  test.setTimeout(120_000);
  const suffix = Date.now().toString(36);
  const cool = `e2e-cool-${suffix}`;
  const hot = `e2e-hot-${suffix}`;
  // Alert at once rather than after a minute, so the test does not wait; restored at the end.
  const rulesRes = await request.get('/api/trpc/fleet.alertRules', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const rules = (await rulesRes.json()).result.data;
  await request.post('/api/trpc/fleet.setAlertRules', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, data: { rules: { ...rules, gpuHot: { ...rules.gpuHot, forSeconds: 0 } }, reason: 'e2e' } });
  const agents = [startAgent(baseURL!, cool, 'normal'), startAgent(baseURL!, hot, 'hot')];
  try {
    const viewer = await createUser(request, 'viewer');
    await login(page, viewer.username, viewer.password);
    await expect(page).toHaveURL(/\/fleet$/);
    const coolNode = page.locator(`[data-testid="node-row"][data-hostname="${cool}"]`);
    const hotNode = page.locator(`[data-testid="node-row"][data-hostname="${hot}"]`);
    // Live: no reload needed.
    await expect(coolNode).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
    await expect(coolNode.getByTestId('gpu-cell')).toHaveCount(4);
    await expect(page.locator('[data-testid="alert"][data-kind="gpu_hot"][data-state="firing"]').filter({ hasText: hot }).first()).toBeVisible({ timeout: 30_000 });

    agents[0]!.kill('SIGTERM');
    await expect(coolNode).toHaveAttribute('data-status', 'stale', { timeout: 20_000 });
    await expect(coolNode).toHaveAttribute('data-status', 'offline', { timeout: 30_000 });

    await hotNode.click();
    await expect(page.getByRole('heading', { name: hot })).toBeVisible();
    await expect(page.getByTestId('gpu-row')).toHaveCount(4);
    await expect(page.getByTestId('chart')).toHaveCount(4);
    await expect(page.getByTestId('chart').first().locator('path[d^="M"]').first()).toBeAttached();
    await expect(page.getByTestId('collector-health')).toContainText('nvidia-smi ok');
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    await request.post('/api/trpc/fleet.setAlertRules', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, data: { rules, reason: 'e2e restore' } });
  }
});
