// What a browser's session cookie can and cannot do: a stale one does not
// stop signing in again, and a page of another origin cannot use it to make
// the console act (a text/plain form is a "simple" request no preflight stops).
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { ADMIN_TOKEN, createUser, login } from './helpers';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

test('a browser whose session was ended server-side signs in again', async ({ page, request }) => {
  const u = await createUser(request, 'operator');
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);

  // Disabling ends every session of the user; enabling again leaves the browser with a dead cookie.
  const users = (await (await request.get('/api/trpc/users.list', { headers: admin })).json()) as {
    result: { data: { id: string; username: string }[] };
  };
  const id = users.result.data.find((x) => x.username === u.username)!.id;
  for (const disabled of [true, false]) {
    const r = await request.post('/api/trpc/users.update', { headers: admin, data: { id, disabled } });
    expect(r.status(), await r.text()).toBe(200);
  }
  expect((await page.context().cookies()).some((c) => c.name === 'coolant_session')).toBe(true);

  await page.goto('/fleet');
  await expect(page).toHaveURL(/\/login/);
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);
  await expect(page.getByTestId('whoami')).toContainText(`${u.username} · operator`);
});

test('a made-up session cookie does not stop signing in', async ({ page, request, baseURL }) => {
  const u = await createUser(request, 'viewer');
  await page.context().addCookies([{ name: 'coolant_session', value: 'cs_made_up_0123456789abcdef', url: baseURL! }]);
  await login(page, u.username, u.password);
  await expect(page).toHaveURL(/\/fleet$/);
});

test.describe('a page of another origin on the same site', () => {
  let evil: Server;
  let evilOrigin: string;
  let formTarget = '';

  test.beforeAll(async () => {
    // Same host, another port: same site for the browser, so the SameSite=Lax session cookie is sent with its POST.
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      // enctype=text/plain sends `name=value`: the name carries the JSON, the value closes it inside requestId.
      res.end(`<!doctype html><form method="POST" enctype="text/plain" action="${formTarget}">
<input type="hidden" name='${formName}' value='"}'></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    evilOrigin = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
  });

  test.afterAll(async () => {
    await new Promise((r) => evil.close(r));
  });

  const tier = `csrf-${randomBytes(3).toString('hex')}`;
  const formName = `{"tier":"${tier}","subject":"victim","requestId":"`;

  test('cannot make an operator consume admission with an auto-submitting form: refused, nothing consumed', async ({
    page,
    request,
    baseURL,
  }) => {
    for (const [path, data] of [
      ['tiers.create', { name: tier }],
      ['tiers.setLimit', { tier, window: 'minute', limit: 1 }],
    ] as const) {
      const r = await request.post(`/api/trpc/${path}`, { headers: admin, data });
      expect(r.status(), await r.text()).toBe(200);
    }
    const u = await createUser(request, 'operator');
    await login(page, u.username, u.password);
    await expect(page).toHaveURL(/\/fleet$/);

    formTarget = `${baseURL}/api/trpc/admission.consume`;
    const answer = page.waitForResponse((r) => r.url() === formTarget);
    await page.goto(evilOrigin);
    const refused = await answer;
    // The browser did send the operator's session with the forged POST: only the console's refusal stops it.
    expect((await refused.request().allHeaders()).cookie ?? '').toContain('coolant_session=');
    expect(refused.status()).toBe(415);
    expect(await refused.text()).toContain('content-type must be application/json');

    // The one consume of this minute is still there: the forged request took nothing.
    const r = await request.post('/api/trpc/admission.consume', { headers: admin, data: { tier, subject: 'victim' } });
    expect(r.status()).toBe(200);
    expect(
      ((await r.json()) as { result: { data: { allowed: boolean; ticket: string | null } } }).result.data,
    ).toMatchObject({ allowed: true });
  });
});
