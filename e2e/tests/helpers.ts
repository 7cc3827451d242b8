import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';

export const ADMIN_PASSWORD = 'e2e-admin-password';
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
export const ENROLL_TOKEN = 'e2e-enroll-token-0123456789';

export async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Each test makes its own user through the API, so tests share no state. */
export async function createUser(request: APIRequestContext, role: 'viewer' | 'operator' | 'admin') {
  const username = `${role}-${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const res = await request.post('/api/trpc/users.create', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    data: { username, password, role },
  });
  expect(res.status(), await res.text()).toBe(200);
  return { username, password };
}
