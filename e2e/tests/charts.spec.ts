import { expect, test, type Locator } from '@playwright/test';
import { createUser, login, startAgent } from './helpers';

// The node page's charts, drawn by uPlot: one canvas per chart, y labels whole (the hand-drawn SVG cut
// "78,112 MiB" to "12 MiB"), a readout of the time and value under the cursor, and the tier card's chart
// (readout, drag to zoom, double click back).

/** The plot's left edge (CSS px from the chart's left): the y axis is this wide. */
async function yAxisWidth(chart: Locator): Promise<number> {
  return chart
    .locator('.u-over')
    .evaluate((over) => over.getBoundingClientRect().left - over.parentElement!.getBoundingClientRect().left);
}

/** Widest of the labels in CSS px, in the chart's own font. */
async function widestLabel(chart: Locator, labels: string[]): Promise<number> {
  return chart.evaluate((_el, ls) => {
    const ctx = document.createElement('canvas').getContext('2d')!;
    ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    return Math.max(...ls.map((l) => ctx.measureText(l).width));
  }, labels);
}

/** Whether anything is drawn in the canvas's first two pixel columns above the x axis: a clipped label would be. */
async function leftEdgeInked(chart: Locator): Promise<boolean> {
  return chart.locator('canvas').evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')!;
    const plotBottom = Math.floor(c.height * 0.75);
    const px = ctx.getImageData(0, 0, 2, plotBottom).data;
    for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) return true;
    return false;
  });
}

test('the node page charts on canvases with whole y labels, a hover readout of time and value; the tier chart reads out, zooms and unzooms; no CSP violation', async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const host = `e2e-charts-${Date.now().toString(36)}`;
  const agent = startAgent(baseURL!, host, 'normal');
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`Content Security Policy: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  try {
    const viewer = await createUser(request, 'viewer');
    await login(page, viewer.username, viewer.password);
    const row = page.locator(`[data-testid="node-row"][data-hostname="${host}"]`);
    await expect(row).toHaveAttribute('data-status', 'online', { timeout: 30_000 });
    await row.click();
    await expect(page.getByRole('heading', { name: host })).toBeVisible();

    const charts = page.getByTestId('chart');
    await expect(charts).toHaveCount(4);
    for (const c of await charts.all()) await expect(c.locator('canvas')).toHaveCount(1);

    // Memory used: the simulated H100s use tens of thousands of MiB, labelled in full.
    const memory = page.getByRole('figure', { name: 'Memory used, last hour' });
    await expect(memory).toHaveAttribute('data-y-labels', /\d{1,3},\d{3} MiB/, { timeout: 15_000 });
    const labels = (await memory.getAttribute('data-y-labels'))!.split('|');
    expect(
      labels.every((l) => /^\d{1,3}(,\d{3})* MiB$/.test(l)),
      labels.join(' '),
    ).toBe(true);
    const axis = await yAxisWidth(memory);
    const widest = await widestLabel(memory, labels);
    expect(widest, `labels ${labels.join(', ')} in a ${axis}px axis`).toBeLessThan(axis);
    expect(await leftEdgeInked(memory)).toBe(false);

    // Nothing under the cursor yet: the readout is blank.
    const readout = memory.locator('.u-legend .u-series');
    await expect(readout.first().locator('.u-value')).toHaveText('—');
    // Hover near the right end, where the samples are.
    const over = memory.locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width - 3, y: box.height / 2 } });
    await expect(readout.first().locator('.u-label')).toHaveText('Time');
    await page.screenshot({ path: test.info().outputPath('node-charts-hover.png'), fullPage: true });
    await expect(readout.first().locator('.u-value')).toHaveText(/^[A-Z][a-z]{2} \d{1,2}, \d{2}:\d{2}:\d{2}$/);
    await expect(readout.filter({ hasText: 'GPU 0' }).locator('.u-value')).toHaveText(/^\d{1,3}(,\d{3})* MiB$/);
    await expect(readout.filter({ hasText: 'GPU 3' }).locator('.u-value')).toHaveText(/^\d{1,3}(,\d{3})* MiB$/);

    const util = page.getByRole('figure', { name: 'Utilization, last hour' });
    await expect(util).toHaveAttribute('data-y-labels', /(^|\|)100%$/);

    await page.getByRole('button', { name: 'Last day' }).click();
    await expect(page.getByRole('figure', { name: 'Memory used, last day' }).locator('canvas')).toHaveCount(1);

    // The tier card's admitted/denied chart is a uPlot chart too, with its own readout.
    await page.goto('/tiers');
    const tierChart = page.getByTestId('admission-chart').first();
    await expect(tierChart.locator('canvas')).toHaveCount(1);
    const tover = tierChart.locator('.u-over');
    const tbox = (await tover.boundingBox())!;
    await tover.hover({ position: { x: tbox.width - 3, y: tbox.height / 2 } });
    await expect(
      tierChart.locator('.u-legend .u-series').filter({ hasText: 'admitted' }).locator('.u-value'),
    ).toHaveText(/^\d[\d,]*$/);

    // Drag to zoom on x, double click back: the minute under the chart's left edge says which range is shown.
    const tierTime = tierChart.locator('.u-legend .u-series').first().locator('.u-value');
    const leftMinute = async () => {
      await tover.hover({ position: { x: 2, y: tbox.height / 2 } });
      await expect(tierTime).toHaveText(/\d{2}:\d{2}:\d{2}$/);
      const [, h, m] = /(\d{2}):(\d{2}):\d{2}$/.exec((await tierTime.textContent())!)!;
      return Number(h) * 60 + Number(m);
    };
    const minutesAgo = (minute: number) =>
      (((new Date().getHours() * 60 + new Date().getMinutes() - minute) % 1440) + 1440) % 1440;
    expect(minutesAgo(await leftMinute())).toBeGreaterThanOrEqual(58);
    const b = (await tover.boundingBox())!;
    await page.mouse.move(b.x + b.width * 0.5, b.y + b.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.95, b.y + b.height / 2, { steps: 5 });
    await page.mouse.up();
    const zoomedAgo = minutesAgo(await leftMinute());
    expect(zoomedAgo).toBeGreaterThanOrEqual(27);
    expect(zoomedAgo).toBeLessThanOrEqual(33);
    await tover.dblclick({ position: { x: tbox.width / 2, y: tbox.height / 2 } });
    expect(minutesAgo(await leftMinute())).toBeGreaterThanOrEqual(58);

    expect(violations).toEqual([]);
  } finally {
    agent.kill('SIGTERM');
  }
});
