import { expect, test, type APIRequestContext } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, createUser, login, startAgent } from './helpers';

// The Notifications page (issue 14, "Alerts reach a person"): an admin points the webhook at a real
// HTTP receiver and sends a test alert, which arrives signed the way a receiver checks it; pointed at
// a closed port, the test says it failed, and a real hot GPU's alert shows the channel failing (red,
// its error, pending) until the webhook points back and the held alert arrives; the changes are
// audited; a viewer can neither see nor change it.

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

type TReceived = { headers: IncomingHttpHeaders; body: string };

/** The receiver's side of the signature: sha256=HMAC-SHA256(secret, `${timestamp}.${body}`), compared in constant time. */
function signatureValid(secret: string, r: TReceived): boolean {
  const timestamp = r.headers['x-coolant-timestamp'];
  const signature = r.headers['x-coolant-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex')}`);
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound once by us, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

async function api<T>(request: APIRequestContext, path: string, input?: unknown): Promise<T> {
  const res =
    input === undefined
      ? await request.get(`/api/trpc/${path}`, { headers: auth })
      : await request.post(`/api/trpc/${path}`, { headers: auth, data: input });
  const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
  expect(res.status(), `${path}: ${body.error?.message ?? ''}`).toBe(200);
  return body.result!.data;
}

type TAlertRules = { gpuHot: { forSeconds: number } } & Record<string, unknown>;

test("an admin points the webhook at a receiver: the test alert arrives signed, a closed port fails the test and the delivery of a hot GPU's alert until it points back, audited, a viewer cannot configure", async ({
  page,
  request,
  browser,
  baseURL,
}) => {
  const received: TReceived[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  const port = await listen(receiver);
  const secret = `e2e-${randomBytes(12).toString('hex')}`;
  const reason = `e2e notifications ${randomBytes(3).toString('hex')}`;
  const host = `e2e-notify-${randomBytes(3).toString('hex')}`;
  const rules = await api<TAlertRules>(request, 'fleet.alertRules');
  let agent: ChildProcess | null = null;
  try {
    const admin = await createUser(request, 'admin');
    await login(page, admin.username, admin.password);
    await page.getByRole('link', { name: 'Notifications' }).click();
    await expect(page.getByRole('heading', { name: 'Notifications', exact: true })).toBeVisible();

    const card = page.locator('[data-testid="notifications-channel"][data-channel="webhook"]');
    await card.getByRole('button', { name: /^(Set up Webhook|Edit)$/ }).click();
    const form = card.getByRole('form', { name: 'Webhook settings' });
    await form.getByLabel('Webhook URL').fill(`http://127.0.0.1:${port}/hook`);
    await form.getByLabel('Reason (optional)').fill(reason);
    // The server's refusal stays in the form, on the field it names.
    await form.getByLabel(/^Signing secret/).fill('short');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form.getByRole('alert')).toContainText('secret');
    await expect(form.getByLabel(/^Signing secret/)).toHaveAttribute('aria-invalid', 'true');
    await form.getByLabel(/^Signing secret/).fill(secret);
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(card.getByTestId('notifications-url')).toHaveText(`http://127.0.0.1:${port}/hook`);
    await expect(card).toContainText('secret: set');
    await expect(card).not.toContainText(secret);

    await card.getByRole('button', { name: 'Send a test alert' }).click();
    const result = card.getByTestId('notifications-test-result');
    await expect(result).toHaveAttribute('data-ok', 'true');
    await expect(result).toContainText('ok · HTTP 200');
    const test = received.find((r) => r.body.includes('CoolantTestAlert'));
    expect(test, `received: ${received.map((r) => r.body).join('\n')}`).toBeDefined();
    expect(test!.headers['content-type']).toContain('application/json');
    expect(signatureValid(secret, test!), JSON.stringify(test!.headers)).toBe(true);
    expect(signatureValid('not-the-secret', test!)).toBe(false);

    // Pointed at a closed port (the secret left empty keeps the stored one), the test fails on the page.
    const dead = await closedPort();
    await card.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Webhook URL').fill(`http://127.0.0.1:${dead}/hook`);
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(card.getByTestId('notifications-url')).toHaveText(`http://127.0.0.1:${dead}/hook`);
    await expect(result).toHaveCount(0);
    await card.getByRole('button', { name: 'Send a test alert' }).click();
    await expect(result).toHaveAttribute('data-ok', 'false');
    await expect(result).toContainText('failed');

    // A real alert while the receiver is unreachable: held, retried, the card red with the error.
    await api(request, 'fleet.setAlertRules', {
      rules: { ...rules, gpuHot: { ...rules.gpuHot, forSeconds: 0 } },
      reason: 'e2e notifications',
    });
    agent = startAgent(baseURL!, host, 'hot');
    const hot = page.locator('[data-testid="notifications-active-row"][data-alertname="CoolantGpuHot"]', {
      hasText: host,
    });
    await expect(hot.first()).toBeVisible({ timeout: 20_000 });
    await expect(card.getByTestId('notifications-delivery')).toHaveAttribute('data-health', 'failing', {
      timeout: 10_000,
    });
    await expect(card).toHaveAttribute('data-health', 'failing');
    await expect(card.getByTestId('notifications-last-error')).toContainText('Failing:');
    await expect(card.getByTestId('notifications-pending')).not.toHaveText('0');

    // Pointed back at the receiver, the held alerts arrive signed, with the labels routes match on.
    await card.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Webhook URL').fill(`http://127.0.0.1:${port}/hook`);
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(card.getByTestId('notifications-delivery')).toHaveAttribute('data-health', 'ok', { timeout: 15_000 });
    // The page rereads every 5 s: the last held alerts may still count as pending at the first reading that succeeded.
    await expect(card.getByTestId('notifications-pending')).toHaveText('0', { timeout: 12_000 });
    const fired = received.find((r) => r.body.includes('CoolantGpuHot') && r.body.includes(host));
    expect(fired, 'the hot alert reached the receiver').toBeDefined();
    expect(signatureValid(secret, fired!)).toBe(true);
    const payload = JSON.parse(fired!.body) as { status: string; labels: Record<string, string> };
    expect(payload.status).toBe('firing');
    expect(payload.labels).toMatchObject({ alertname: 'CoolantGpuHot', severity: 'critical', node: host });
    expect(payload.labels.gpu).toMatch(/^\d+$/);

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Action starts with').fill('notifications.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page.getByTestId('audit-row').filter({ hasText: reason }).first()).toContainText(admin.username);

    // A viewer: no link, the Forbidden page, and the API refuses the change made from its own session.
    const viewer = await createUser(request, 'viewer');
    const context = await browser.newContext();
    const vpage = await context.newPage();
    await login(vpage, viewer.username, viewer.password);
    await expect(vpage).toHaveURL(/\/fleet$/);
    await expect(vpage.getByRole('link', { name: 'Notifications' })).toHaveCount(0);
    await vpage.goto('/notifications');
    await expect(vpage.getByText('The Notifications page needs the admin role.')).toBeVisible();
    const status = await vpage.evaluate(async () => {
      const res = await fetch('/api/trpc/notifications.configure', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          alertmanager: null,
          webhook: { url: 'http://127.0.0.1:1/viewer', secret: 'x'.repeat(16) },
        }),
      });
      return res.status;
    });
    expect(status).toBe(403);
    await context.close();
  } finally {
    agent?.kill('SIGTERM');
    await api(request, 'fleet.setAlertRules', { rules, reason: 'e2e restore' });
    // The other specs' fleets fire alerts too: leave nothing pushing at this test's receiver.
    await api(request, 'notifications.configure', { alertmanager: null, webhook: null, reason: 'e2e restore' });
    await new Promise((r) => receiver.close(r));
  }
});
