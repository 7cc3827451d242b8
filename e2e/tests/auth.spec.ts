import { expect, test } from '@playwright/test';
import { createUser, login } from './helpers';

test('signs in with the right password and lands on the fleet page', async ({ page, request }) => {
  const u = await createUser(request, 'operator');
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByRole('heading', { name: 'Fleet' })).toBeVisible();
  await expect(page.getByTestId('whoami')).toContainText(`${u.username} · operator`);
});

test('refuses the wrong password and stays on the login page', async ({ page, request }) => {
  const u = await createUser(request, 'viewer');
  await login(page, u.username, 'not-the-password');
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong' })).toHaveText('Wrong username or password');
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/fleet');
  await expect(page).toHaveURL(/\/login/);
});

test('a viewer cannot open admin pages', async ({ page, request }) => {
  const u = await createUser(request, 'viewer');
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByRole('link', { name: 'Tokens' })).toHaveCount(0);
  for (const path of ['/tokens', '/users']) {
    await page.goto(path);
    await expect(page.getByRole('heading', { name: 'Forbidden' })).toBeVisible();
    await expect(page.getByText('needs the admin role')).toBeVisible();
  }
  await expect(page.getByTestId('token-row')).toHaveCount(0);
  // The API refuses too, whatever the page shows.
  const res = await page.request.get('/api/trpc/tokens.list');
  expect(res.status()).toBe(403);
});

test('sign out ends the session', async ({ page, request }) => {
  const u = await createUser(request, 'viewer');
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/audit');
  await expect(page).toHaveURL(/\/login/);
});
