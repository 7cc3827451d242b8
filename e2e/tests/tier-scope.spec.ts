/**
 * Issue 13 on the Tiers & quotas page: a limit has a scope (each user, or the whole tier together)
 * and a tier has concurrency bounds; an admin sets both inline and reads them back with their scope,
 * and what the page shows is what tiers.list stores. Also: a node whose stored JSON does not read
 * says so on the fleet page and the node page (the row is damaged straight in the console's SQLite).
 */
import { expect, test, type APIRequestContext } from '@playwright/test';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN_TOKEN, ENROLL_TOKEN, createUser, login } from './helpers';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function call<T>(request: APIRequestContext, path: string, data: unknown): Promise<T> {
  const res = await request.post(`/api/trpc/${path}`, { headers: admin, data });
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return ((await res.json()) as { result: { data: T } }).result.data;
}

type TListedTier = {
  name: string;
  limits: { window: string; scope: string; base: number | null; effective: number | null }[];
  concurrency: { perTier: number | null; perSubject: number | null };
};

async function listedTier(request: APIRequestContext, name: string): Promise<TListedTier> {
  const res = await request.get(`/api/trpc/tiers.list?input=${encodeURIComponent('{"includeRetired":true}')}`, {
    headers: admin,
  });
  const tiers = ((await res.json()) as { result: { data: { tiers: TListedTier[] } } }).result.data.tiers;
  return tiers.find((t) => t.name === name)!;
}

test('an admin sets a tier-wide limit and concurrency bounds inline; each row says its scope, and tiers.list agrees', async ({
  page,
  request,
}) => {
  const tier = `e2e-${randomBytes(3).toString('hex')}`;
  await call(request, 'tiers.create', { name: tier, failMode: 'closed' });
  // Each user: 3 a minute, so the minute window has a per-user row before the tier-wide one comes.
  await call(request, 'tiers.setLimit', { tier, window: 'minute', limit: 3 });
  const boss = await createUser(request, 'admin');
  try {
    await login(page, boss.username, boss.password);
    await expect(page).toHaveURL(/\/fleet$/);
    await page.getByRole('link', { name: 'Tiers & quotas' }).click();
    const card = page.locator(`[data-testid="tier-card"][data-tier="${tier}"]`);
    const rows = card.getByTestId('limit-row');
    // Before: the three per-user windows only, each saying so.
    await expect(rows).toHaveCount(3);
    await expect(
      card.locator('[data-testid="limit-row"][data-scope="subject"] [data-testid="limit-scope"]'),
    ).toHaveText(['per user', 'per user', 'per user']);
    await expect(card.getByTestId('concurrency-subject')).toHaveText('per user unbounded');
    await expect(card.getByTestId('concurrency-tier')).toHaveText('whole tier unbounded');

    // A tier-wide minute limit, opened from the "whole tier" control: checked in the browser first.
    const add = card.getByRole('group', { name: 'Add a tier-wide limit' });
    await add.getByLabel('window').selectOption('minute');
    await add.getByRole('button', { name: 'add tier-wide limit', exact: true }).click();
    const form = card.getByRole('form', { name: `Tier-wide base minute limit of ${tier}` });
    await form.getByLabel('Base limit per minute, whole tier').fill('20 per minute');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form.getByRole('alert')).toHaveText('limit: must be a whole number ≥ 0');
    await form.getByLabel('Base limit per minute, whole tier').fill('2000');
    await form.getByLabel('Reason').fill('e2e: launch day, free in total');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form).toBeHidden();

    // Both minute rows now: the per-user one unchanged, the whole-tier one with its own value and scope.
    await expect(rows).toHaveCount(4);
    const perUser = card.locator('[data-testid="limit-row"][data-window="minute"][data-scope="subject"]');
    const wholeTier = card.locator('[data-testid="limit-row"][data-window="minute"][data-scope="tier"]');
    await expect(perUser.getByTestId('limit-scope')).toHaveText('per user');
    // An admin's cell also holds its edit button.
    await expect(perUser.getByTestId('base-limit')).toHaveText(/^3\s*edit$/);
    await expect(wholeTier.getByTestId('limit-scope')).toHaveText('whole tier');
    await expect(wholeTier.getByTestId('base-limit')).toHaveText(/^2,000\s*edit$/);
    await expect(wholeTier.getByTestId('effective-limit')).toHaveText(/2,000\s*base/);
    await expect(wholeTier).toContainText('per minute');

    // A temporary tier-wide limit on that row: reason required, as for the per-user ones.
    await wholeTier.getByRole('button', { name: 'set temporary' }).click();
    const temp = card.getByRole('form', { name: `Tier-wide temporary minute limit of ${tier}` });
    await temp.getByLabel('Temporary limit per minute, whole tier').fill('500');
    await temp.getByLabel('Until').fill('1h');
    await temp.getByRole('button', { name: 'Save' }).click();
    await expect(temp.getByRole('alert')).toHaveText('reason: a reason is required');
    await temp.getByLabel('Reason').fill('e2e: two nodes down');
    await temp.getByRole('button', { name: 'Save' }).click();
    await expect(temp).toBeHidden();
    await expect(wholeTier.getByTestId('temporary-limit')).toContainText('“e2e: two nodes down” · by ' + boss.username);
    await expect(wholeTier.getByTestId('effective-limit')).toHaveText(/500\s*temporary/);
    await expect(perUser.getByTestId('temporary-limit')).toHaveText(/^—/);

    // Concurrency: each user 1 at a time, the whole tier 400; 0 is refused in the browser.
    await card.getByRole('button', { name: `Edit concurrency of ${tier}` }).click();
    const conc = card.getByRole('form', { name: `Concurrency of ${tier}` });
    await conc.getByLabel('Per user at once').fill('0');
    await conc.getByRole('button', { name: 'Save' }).click();
    await expect(conc.getByRole('alert')).toContainText('per user: must be at least 1');
    await conc.getByLabel('Per user at once').fill('1');
    await conc.getByLabel('Whole tier at once').fill('400');
    await conc.getByLabel('Reason').fill('e2e: one generation each');
    await conc.getByRole('button', { name: 'Save' }).click();
    await expect(conc).toBeHidden();
    await expect(card.getByTestId('concurrency-subject')).toHaveText('per user 1');
    await expect(card.getByTestId('concurrency-tier')).toHaveText('whole tier 400');

    // What the page shows is what is stored.
    const stored = await listedTier(request, tier);
    expect(stored.concurrency).toEqual({ perTier: 400, perSubject: 1 });
    expect(stored.limits.filter((l) => l.window === 'minute')).toEqual([
      expect.objectContaining({ scope: 'subject', base: 3, effective: 3 }),
      expect.objectContaining({ scope: 'tier', base: 2000, effective: 500 }),
    ]);

    // Unbounded again per user (empty field), the whole-tier bound kept.
    await card.getByRole('button', { name: `Edit concurrency of ${tier}` }).click();
    await conc.getByLabel('Per user at once').fill('');
    await conc.getByRole('button', { name: 'Save' }).click();
    await expect(conc).toBeHidden();
    await expect(card.getByTestId('concurrency-subject')).toHaveText('per user unbounded');
    await expect(card.getByTestId('concurrency-tier')).toHaveText('whole tier 400');
    expect((await listedTier(request, tier)).concurrency).toEqual({ perTier: 400, perSubject: null });

    // The audit log names the scope of the limit change.
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Action starts with').fill('tier.');
    await page.getByRole('button', { name: 'Filter' }).click();
    const limitRow = page.getByTestId('audit-row').filter({ hasText: 'e2e: launch day, free in total' });
    await expect(limitRow).toHaveCount(1);
    await expect(limitRow).toContainText('tier.set_limit');
    await expect(limitRow).toContainText('"scope":"tier"');
    await expect(page.getByTestId('audit-row').filter({ hasText: 'e2e: one generation each' })).toHaveCount(1);
  } finally {
    await request.post('/api/trpc/tiers.update', {
      headers: admin,
      data: { tier, retired: true, reason: 'e2e cleanup' },
    });
  }
});

test('a node whose stored JSON does not read shows the problem on the fleet page and on its node page', async ({
  page,
  request,
}) => {
  const hostname = `e2e-damaged-${randomBytes(3).toString('hex')}`;
  const enrolled = await call<{ nodeId: string }>(request, 'agent.enroll', { enrollToken: ENROLL_TOKEN, hostname });
  // No agent reports for this node, so nothing overwrites the damage: one value of the wrong type, one not JSON.
  const db = new Database(join(process.env.E2E_DATA_DIR!, 'coolant.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('UPDATE "Node" SET "host" = ?, "health" = ? WHERE "id" = ?').run(
      JSON.stringify({
        hostname,
        cpuLoadPercent: 'very high',
        memUsedBytes: null,
        memTotalBytes: null,
        os: null,
        gpuInventory: null,
      }),
      '{"errors": [',
      enrolled.nodeId,
    );
  } finally {
    db.close();
  }
  const viewer = await createUser(request, 'viewer');
  try {
    await login(page, viewer.username, viewer.password);
    await expect(page).toHaveURL(/\/fleet$/);
    const card = page.locator(`[data-testid="node-row"][data-hostname="${hostname}"]`);
    const problems = card.getByTestId('data-problems');
    await expect(problems).toContainText('unreadable');
    await expect(problems).toContainText('Node.host.cpuLoadPercent:');
    await expect(problems).toContainText('Node.health: not JSON');
    await expect(page.getByTestId('unreadable-nodes')).toContainText('with unreadable data');
    // The whole text, above the grid, where a card has room only for its first words.
    const row = page.locator(`[data-testid="data-problem-row"][data-hostname="${hostname}"]`);
    await expect(row).toContainText(`${hostname}: stored data did not read:`);
    await expect(row).toContainText('Node.host.cpuLoadPercent: Invalid input: expected number, received string');
    await expect(row).toContainText('Node.health: not JSON');

    await card.click();
    await expect(page.getByRole('heading', { name: hostname })).toBeVisible();
    const box = page.getByTestId('data-problems');
    await expect(box).toContainText('Stored data of this node did not read');
    await expect(box.getByTestId('data-problem')).toHaveCount(2);
    await expect(box.getByTestId('data-problem').first()).toContainText('Node.host.cpuLoadPercent:');
  } finally {
    await request.post('/api/trpc/fleet.revokeNode', { headers: admin, data: { id: enrolled.nodeId } });
  }
});
