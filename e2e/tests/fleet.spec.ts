import { expect, test } from '@playwright/test';
import { ADMIN_TOKEN, createUser, login, startAgent } from './helpers';

test('the simulated fleet appears, a hot node raises one grouped alert row, a stopped agent goes stale then offline, the node page charts', async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const suffix = Date.now().toString(36);
  const cool = `e2e-cool-${suffix}`;
  const hot = `e2e-hot-${suffix}`;
  // Alert at once rather than after a minute, so the test does not wait; restored at the end.
  const rulesRes = await request.get('/api/trpc/fleet.alertRules', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const rules = (await rulesRes.json()).result.data;
  await request.post('/api/trpc/fleet.setAlertRules', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: { rules: { ...rules, gpuHot: { ...rules.gpuHot, forSeconds: 0 } }, reason: 'e2e' },
  });
  const agents = [startAgent(baseURL!, cool, 'normal'), startAgent(baseURL!, hot, 'hot')];
  // The CSP must not break the console: a refused script or style would show up here.
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  try {
    const viewer = await createUser(request, 'viewer');
    await login(page, viewer.username, viewer.password);
    await expect(page).toHaveURL(/\/fleet$/);
    const coolNode = page.locator(`[data-testid="node-row"][data-hostname="${cool}"]`);
    const hotNode = page.locator(`[data-testid="node-row"][data-hostname="${hot}"]`);
    // Live: no reload needed.
    await expect(coolNode).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
    await expect(coolNode.getByTestId('gpu-cell')).toHaveCount(4);
    // Four hot GPUs are one row for the node, which expands to the four alerts.
    const hotGroup = page.locator(`[data-testid="alert-group"][data-hostname="${hot}"]`);
    await expect(hotGroup).toHaveAttribute('data-state', 'firing', { timeout: 30_000 });
    await expect(hotGroup.getByTestId('alert')).toHaveCount(4, { timeout: 15_000 });
    await expect(hotGroup.locator('summary')).toContainText(new RegExp(`${hot}: 4 GPUs hot, \\d+(–\\d+)? °C`));
    await expect(hotGroup.getByTestId('alert').first()).toBeHidden();
    await hotGroup.locator('summary .muted').click();
    await expect(hotGroup.locator('[data-testid="alert"][data-kind="gpu_hot"][data-state="firing"]')).toHaveCount(4);
    await expect(hotGroup.getByTestId('alert').first()).toBeVisible();
    await expect(page.locator('[data-testid="alert-group"]').filter({ hasText: hot })).toHaveCount(1);

    agents[0]!.kill('SIGTERM');
    await expect(coolNode).toHaveAttribute('data-status', 'stale', { timeout: 20_000 });
    await expect(coolNode).toHaveAttribute('data-status', 'offline', { timeout: 30_000 });

    await hotNode.click();
    await expect(page.getByRole('heading', { name: hot })).toBeVisible();
    await expect(page.getByTestId('gpu-row')).toHaveCount(4);
    await expect(page.getByTestId('chart')).toHaveCount(4);
    await expect(page.getByTestId('chart').first().locator('canvas')).toHaveCount(1);
    await expect(page.getByTestId('collector-health')).toContainText('nvidia-smi ok');
    expect(violations).toEqual([]);
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    await request.post('/api/trpc/fleet.setAlertRules', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      data: { rules, reason: 'e2e restore' },
    });
  }
});

test('every page carries the security headers, and the built console still renders and hydrates under its CSP', async ({
  page,
}) => {
  for (const path of ['/login', '/fleet']) {
    const res = await page.request.get(path, { maxRedirects: 0 });
    const h = res.headers();
    expect(h['content-security-policy'], path).toContain("frame-ancestors 'none'");
    expect(h['content-security-policy'], path).toContain("default-src 'self'");
    expect(h['x-content-type-options'], path).toBe('nosniff');
    expect(h['referrer-policy'], path).toBe('same-origin');
    expect(h['x-frame-options'], path).toBe('DENY');
  }
  const page0 = await page.goto('/login');
  expect(page0!.headers()['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");
  // Hydrated: the form is React's (a client-side submit shows the error without a page load).
  await page.getByLabel('Username').fill('nobody');
  await page.getByLabel('Password').fill('wrong-password-123');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);
});

test('after signing in, an off-site next is not followed', async ({ page, request }) => {
  const viewer = await createUser(request, 'viewer');
  for (const next of ['/\\evil.example', '//evil.example', '/\t/evil.example', 'https://evil.example/']) {
    await page.context().clearCookies();
    await page.goto(`/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Username').fill(viewer.username);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page, next).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/fleet$/);
  }
});
