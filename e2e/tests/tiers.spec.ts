import { expect, test, type APIRequestContext } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, createUser, login } from './helpers';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function call<T>(
  request: APIRequestContext,
  path: string,
  data: unknown,
  headers: Record<string, string> = admin,
): Promise<T> {
  const res = await request.post(`/api/trpc/${path}`, { headers, data });
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return ((await res.json()) as { result: { data: T } }).result.data;
}

/** A tier of the test's own, retired at the end so the header of later tests does not show it. */
async function createTier(request: APIRequestContext, baseHour?: number): Promise<string> {
  const name = `e2e-${randomBytes(3).toString('hex')}`;
  await call(request, 'tiers.create', { name, failMode: 'closed' });
  if (baseHour !== undefined) await call(request, 'tiers.setLimit', { tier: name, window: 'hour', limit: baseHour });
  return name;
}

async function retireTier(request: APIRequestContext, name: string): Promise<void> {
  await request.post('/api/trpc/tiers.update', {
    headers: admin,
    data: { tier: name, retired: true, reason: 'e2e cleanup' },
  });
}

test('an operator pauses free from the header: banner everywhere, the gateway is refused, the audit log has it, then resume', async ({
  page,
  request,
  playwright,
  baseURL,
}) => {
  const operator = await createUser(request, 'operator');
  const reason = `e2e drill ${randomBytes(3).toString('hex')}`;
  const gateway = await call<{ secret: string }>(request, 'tokens.create', {
    name: `gw-${randomBytes(3).toString('hex')}`,
    role: 'gateway',
  });
  // The gateway speaks with its token only, no session cookie.
  const api = await playwright.request.newContext({ baseURL: baseURL! });
  const consume = (subject: string) =>
    api.post('/api/trpc/admission.consume', {
      headers: { authorization: `Bearer ${gateway.secret}` },
      data: { tier: 'free', subject },
    });

  try {
    await login(page, operator.username, operator.password);
    await expect(page).toHaveURL(/\/fleet$/);
    await expect(page.getByTestId('paused-banner')).toHaveCount(0);

    const chip = page.locator('[data-testid="tier-chip"][data-tier="free"]');
    await expect(chip).toContainText('serving');
    await chip.getByRole('button', { name: 'Pause free' }).click();
    const dialog = page.getByRole('dialog', { name: 'Pause tier free' });
    // The reason is required before anything is sent.
    await dialog.getByRole('button', { name: 'Confirm pause' }).click();
    await expect(dialog.getByRole('alert')).toHaveText('reason: a reason is required');
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('radio', { name: 'in 1 h' }).check();
    await dialog.getByRole('button', { name: 'Confirm pause' }).click();
    await expect(dialog).toBeHidden();

    const banner = page.getByTestId('paused-banner');
    await expect(banner).toContainText('Tier free is PAUSED');
    await expect(banner).toContainText(`“${reason}”`);
    await expect(banner).toContainText(`by ${operator.username}`);
    await expect(banner).toContainText(/auto-resume at .+ \(in (59m \d+s|1h 0m 0s)\)/);
    await expect(chip).toContainText('paused');
    await expect(chip.getByRole('button', { name: 'Resume free' })).toBeVisible();

    const denied = await consume(`e2e-${randomBytes(3).toString('hex')}`);
    expect(denied.status()).toBe(200);
    const decision = (
      (await denied.json()) as { result: { data: { allowed: boolean; reason: string; pauseReason: string } } }
    ).result.data;
    expect(decision).toMatchObject({ allowed: false, reason: 'tier_paused', pauseReason: reason });
    const retryAfter = Number(denied.headers()['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);

    // The banner follows the operator to every page; the Tiers page has the details and the propagation.
    await page.getByRole('link', { name: 'Tiers & quotas' }).click();
    await expect(banner).toContainText(reason);
    const card = page.locator('[data-testid="tier-card"][data-tier="free"]');
    await expect(card.getByTestId('pause-details')).toContainText(`by ${operator.username}: “${reason}”`);
    await expect(card.getByTestId('propagation')).toContainText(
      /applied by all 1 instance at \d\d:\d\d:\d\d\.\d{3} \(\+\d+ ms after issue\)/,
    );

    await page.getByRole('link', { name: 'Audit' }).click();
    await expect(banner).toContainText(reason);
    await page.getByLabel('Action starts with').fill('tier.pause');
    await page.getByRole('button', { name: 'Filter' }).click();
    const row = page.getByTestId('audit-row').filter({ hasText: reason });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('tier.pause');
    await expect(row).toContainText(operator.username);

    await chip.getByRole('button', { name: 'Resume free' }).click();
    const resume = page.getByRole('dialog', { name: 'Resume tier free' });
    await resume.getByLabel('Reason').fill('e2e: drill over');
    await resume.getByRole('button', { name: 'Confirm resume' }).click();
    await expect(resume).toBeHidden();
    await expect(banner).toHaveCount(0);
    await expect(chip).toContainText('serving');
    const allowed = await consume(`e2e-${randomBytes(3).toString('hex')}`);
    expect(((await allowed.json()) as { result: { data: { allowed: boolean } } }).result.data.allowed).toBe(true);
  } finally {
    // The suite shares one console: never leave free paused for the tests after this one (409 when already resumed).
    await request.post('/api/trpc/tiers.resume', { headers: admin, data: { tier: 'free', reason: 'e2e cleanup' } });
    await api.dispose();
  }
});

test('a viewer sees a paused tier but gets no Pause/Resume buttons, and the API refuses a pause', async ({
  page,
  request,
}) => {
  const tier = await createTier(request);
  try {
    await call(request, 'tiers.pause', { tier, reason: 'e2e: viewer check' });
    const viewer = await createUser(request, 'viewer');
    await login(page, viewer.username, viewer.password);
    await expect(page).toHaveURL(/\/fleet$/);

    const banner = page.getByTestId('paused-banner');
    await expect(banner).toContainText(`Tier ${tier} is PAUSED`);
    await expect(banner).toContainText('“e2e: viewer check”');
    await expect(banner).toContainText('no auto-resume');
    const chip = page.locator(`[data-testid="tier-chip"][data-tier="${tier}"]`);
    await expect(chip).toContainText('paused');
    await expect(page.locator('[data-testid="tier-chip"][data-tier="free"]')).toContainText('serving');
    await expect(page.getByRole('button', { name: /^(Pause|Resume) / })).toHaveCount(0);

    await page.getByRole('link', { name: 'Tiers & quotas' }).click();
    const card = page.locator(`[data-testid="tier-card"][data-tier="${tier}"]`);
    await expect(card.getByTestId('pause-details')).toContainText('e2e: viewer check');
    await expect(page.getByText('You are a viewer')).toBeVisible();
    await expect(card.getByRole('button')).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^(Pause|Resume) / })).toHaveCount(0);

    // With the viewer's own session cookie, straight to the API: refused whatever the page shows.
    const res = await page.request.post('/api/trpc/tiers.pause', { data: { tier: 'free', reason: 'viewer tries' } });
    expect(res.status()).toBe(403);
    expect(await res.text()).toContain('This needs the operator role; you are viewer');
  } finally {
    await retireTier(request, tier);
  }
});

test('an operator sets a temporary limit inline: checked in the browser, refused by the server when the role is gone, then counted down and cleared', async ({
  page,
  request,
}) => {
  const tier = await createTier(request, 100);
  const operator = await createUser(request, 'operator');
  try {
    await login(page, operator.username, operator.password);
    await expect(page).toHaveURL(/\/fleet$/);
    await page.getByRole('link', { name: 'Tiers & quotas' }).click();
    const card = page.locator(`[data-testid="tier-card"][data-tier="${tier}"]`);
    const row = card.locator('[data-testid="limit-row"][data-window="hour"]');
    await expect(row.getByTestId('base-limit')).toHaveText('100');
    await expect(row.getByTestId('effective-limit')).toContainText('100');
    // Base limits are for admins: an operator gets no edit control for them.
    await expect(card.getByRole('button', { name: /^Edit base/ })).toHaveCount(0);

    await row.getByRole('button', { name: 'set temporary' }).click();
    const form = card.getByRole('form', { name: `Temporary hour limit of ${tier}` });
    const alert = form.getByRole('alert');
    await form.getByLabel('Temporary limit per hour').fill('2.5');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(alert).toHaveText('limit: must be a whole number ≥ 0');
    await form.getByLabel('Temporary limit per hour').fill('25');
    await form.getByLabel('Until').fill('yesterday');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(alert).toContainText('until: use a duration like 30m, 2h, 1d');
    await form.getByLabel('Until').fill('90m');
    await expect(form.getByTestId('until-preview')).toContainText(/in 1h 30m 0s|in 1h 29m 5\ds/);
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(alert).toHaveText('reason: a reason is required');

    // The server has the last word: take the operator role away and its refusal is shown in place.
    const users = await request.get('/api/trpc/users.list', { headers: admin });
    const me = ((await users.json()) as { result: { data: { id: string; username: string }[] } }).result.data.find(
      (u) => u.username === operator.username,
    )!;
    await call(request, 'users.update', { id: me.id, role: 'viewer', reason: 'e2e: demote' });
    await form.getByLabel('Reason').fill('e2e: capacity catch-up');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(alert).toHaveText('This needs the operator role; you are viewer');
    await call(request, 'users.update', { id: me.id, role: 'operator', reason: 'e2e: restore' });

    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form).toBeHidden();
    const temporary = row.getByTestId('temporary-limit');
    await expect(temporary).toContainText('25');
    await expect(temporary).toContainText('“e2e: capacity catch-up” · by ' + operator.username);
    await expect(row.getByTestId('effective-limit')).toHaveText(/25\s*temporary/);
    await expect(row.getByTestId('base-limit')).toHaveText('100');
    // The time left counts down in the browser between refreshes.
    const countdown = temporary.locator('.countdown');
    await expect(countdown).toHaveText(/^1h (29m \d+s|30m 0s) left$/);
    const first = await countdown.textContent();
    await expect(countdown).not.toHaveText(first!, { timeout: 5_000 });

    page.once('dialog', (d) => void d.accept('e2e: capacity is back'));
    await row.getByRole('button', { name: 'clear' }).click();
    await expect(temporary).toHaveText(/^—/);
    await expect(row.getByTestId('effective-limit')).toHaveText(/100\s*base/);
  } finally {
    await retireTier(request, tier);
  }
});
