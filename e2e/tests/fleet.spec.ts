import { expect, test } from '@playwright/test';
import { ADMIN_TOKEN, createUser, login, startAgent } from './helpers';

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
