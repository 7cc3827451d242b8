import { expect, test, type APIRequestContext } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_TOKEN, createUser, login, startAgent } from './helpers';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function api<T>(
  request: APIRequestContext,
  path: string,
  input?: unknown,
  method: 'GET' | 'POST' = 'POST',
): Promise<T> {
  const res =
    method === 'GET'
      ? await request.get(
          `/api/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
          { headers: auth },
        )
      : await request.post(`/api/trpc/${path}`, { headers: auth, data: input ?? null });
  const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
  expect(res.status(), `${path}: ${body.error?.message ?? ''}`).toBe(200);
  return body.result!.data;
}

type TGuardGet = { armed: boolean; config: Record<string, unknown> };

test('a hot simulated fleet: the guard sheds a tier (banner, audit as guard with the signal), the fleet cools, the tier is restored', async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(150_000);
  const suffix = Date.now().toString(36);
  // The guard acts on a tier this test creates, so other tests pausing `free` never meet it.
  const tier = `guard-${suffix}`;
  const before = await api<TGuardGet>(request, 'guard.get', undefined, 'GET');
  await api(request, 'tiers.create', { name: tier });
  await api(request, 'guard.update', {
    config: {
      intervalSeconds: 1,
      windowSeconds: 4,
      stallSeconds: 10,
      // The tier was just created by hand: with the default 30 min the guard would leave it alone.
      operatorGraceMinutes: 0,
      rules: [
        {
          id: 'e2e-hot',
          signal: 'hot_share',
          temperatureC: 85,
          trip: 0.5,
          clear: 0.2,
          tripWindowSeconds: 3,
          clearWindowSeconds: 5,
          ladder: [
            { tier, action: 'limit', window: 'day', limit: 3 },
            { tier, action: 'pause' },
          ],
        },
      ],
    },
    reason: 'e2e',
  });
  await api(request, 'guard.arm', { reason: 'e2e' });
  let agents: ChildProcess[] = [
    startAgent(baseURL!, `e2e-guard-hot1-${suffix}`, 'hot'),
    startAgent(baseURL!, `e2e-guard-hot2-${suffix}`, 'hot'),
  ];
  try {
    const viewer = await createUser(request, 'viewer');
    await login(page, viewer.username, viewer.password);
    await expect(page).toHaveURL(/\/fleet$/);
    // The banner, on whatever page, names what was shed.
    const shedPause = page.locator(`[data-testid="guard-shed"][data-tier="${tier}"][data-action="pause"]`);
    await expect(shedPause).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('guard-banner')).toContainText(`pause ${tier}`);
    await expect(page.getByTestId('guard-banner')).toContainText(`limit ${tier} to 3/day`);
    await expect(page.locator(`[data-testid="tier-chip"][data-tier="${tier}"]`)).toContainText('paused');

    await page.goto('/guard');
    await expect(page.getByTestId('guard-state')).toHaveText('tripped');
    await expect(page.locator('[data-testid="guard-chart"] canvas')).toHaveCount(1);
    await expect(page.getByTestId('guard-step')).toHaveCount(2);
    await page.screenshot({ path: test.info().outputPath('guard-page-tripped.png'), fullPage: true });

    await page.goto('/audit');
    await page.getByLabel('Actor').fill('guard');
    await page.getByLabel('Target').fill(tier);
    await page.getByRole('button', { name: 'Filter' }).click();
    const pauseRow = page.getByTestId('audit-row').filter({ hasText: 'tier.pause' });
    await expect(pauseRow).toHaveCount(1);
    await expect(pauseRow).toContainText('guard');
    await expect(pauseRow).toContainText('"signal":"hot_share"');
    await expect(pauseRow).toContainText('"value":1');

    // Cool the fleet: the hot agents stop, a normal one reports.
    for (const a of agents) a.kill('SIGTERM');
    agents = [startAgent(baseURL!, `e2e-guard-cool-${suffix}`, 'normal')];
    await expect(page.getByTestId('guard-banner').locator(`[data-tier="${tier}"]`)).toHaveCount(0, { timeout: 60_000 });
    const tiers = await api<{
      tiers: { name: string; paused: boolean; limits: { window: string; temporary: unknown }[] }[];
    }>(request, 'tiers.list', undefined, 'GET');
    const t = tiers.tiers.find((x) => x.name === tier)!;
    expect(t.paused).toBe(false);
    expect(t.limits.find((l) => l.window === 'day')!.temporary).toBeNull();
    const history = await api<{ events: { kind: string }[] }>(request, 'guard.history', { limit: 50 }, 'GET');
    expect(history.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['trip', 'step', 'unstep', 'clear']));
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    await api(request, 'guard.disarm', { reason: 'e2e done', restore: true });
    await api(request, 'guard.update', { config: before.config, reason: 'e2e restore' });
    if (before.armed) await api(request, 'guard.arm', {});
  }
});
