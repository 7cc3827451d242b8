import { expect, test } from '@playwright/test';
import { createUser, login } from './helpers';

test('an operator runs a local smoke test and watches the preview complete with a ✓', async ({ page, request }) => {
  const op = await createUser(request, 'operator');
  await login(page, op.username, op.password);
  await page.getByRole('link', { name: 'Smoke tests' }).click();
  await page.getByLabel('Target').selectOption('local');
  await page.getByLabel('Prompt').fill('E2E');
  await page.getByLabel('Seed').fill('7');
  await page.getByRole('button', { name: 'Run smoke test' }).click();
  const live = page.getByTestId('live-run');
  await expect(live.getByTestId('smoke-preview')).toBeVisible();
  await expect(live.getByTestId('verdict')).toHaveText('✓ match', { timeout: 30_000 });
  await expect(live.getByTestId('smoke-preview')).toHaveAttribute('data-rows', '18');
  await expect(page.getByTestId('smoke-history').getByRole('img', { name: 'E2E seed 7' })).toBeVisible();
});

test('bad input is refused with a message naming the problem', async ({ page, request }) => {
  const op = await createUser(request, 'operator');
  await login(page, op.username, op.password);
  await expect(page).toHaveURL(/\/fleet$/);
  await page.goto('/smoke');
  await page.getByLabel('Prompt').fill('');
  await page.getByLabel('Seed').fill('1');
  await page.getByRole('button', { name: 'Run smoke test' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'prompt' })).toBeVisible();
});
