import { expect, test } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { createUser, login } from './helpers';

test('an admin creates an API token, it works over HTTP, and once revoked it gets 401', async ({
  page,
  request,
  playwright,
}) => {
  const admin = await createUser(request, 'admin');
  await login(page, admin.username, admin.password);
  await page.getByRole('link', { name: 'Tokens' }).click();
  await expect(page.getByRole('heading', { name: 'Tokens', exact: true })).toBeVisible();

  const name = `ci-${randomBytes(3).toString('hex')}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('new-token-secret').textContent())!.trim();
  expect(secret).toMatch(/^ct_/);

  // A fresh context with no cookies: only the Bearer token authenticates.
  const api = await playwright.request.newContext({ baseURL: page.url().replace(/\/tokens.*$/, '') });
  const ok = await api.get('/api/trpc/fleet.list', { headers: { authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);

  const row = page.locator(`[data-testid="token-row"][data-token-name="${name}"]`);
  page.once('dialog', (d) => void d.accept('e2e: rotate'));
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');

  const denied = await api.get('/api/trpc/fleet.list', { headers: { authorization: `Bearer ${secret}` } });
  expect(denied.status()).toBe(401);
  expect(await denied.text()).toContain('revoked');
  await api.dispose();

  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Action starts with').fill('token.');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('audit-row').filter({ hasText: 'token.revoke' }).first()).toContainText('e2e: rotate');
});
