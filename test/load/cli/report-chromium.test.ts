import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPORT_COLORS, renderLoadReport } from './report-html';
import { sampleResult } from './test-support/sample-result';

/**
 * The HTML report opened the way a person opens it (a file, no network) in Debian's headless
 * Chromium (.ci/setup.sh installs it; playwright-core downloads no browser). The charts must be
 * drawn: checked in the DOM (SVG shapes with an extent) and in the screenshot (pixels of each
 * series' colour inside each chart).
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let browser: Browser;
let page: Page;
let dir: string;
const requested: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run bash .ci/setup.sh (apt-get install chromium)`);
  dir = mkdtempSync(path.join(tmpdir(), 'concord-report-'));
  const file = path.join(dir, 'report.html');
  writeFileSync(file, renderLoadReport(sampleResult()));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    requested.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs in Chromium (a string, so this file needs no DOM typings): decodes the PNG with the
 * browser's own decoder and counts the pixels within a small distance of `color`.
 */
const COUNT_PIXELS = `async ({ data, color }) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + data;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, img.width, img.height).data;
  const [r, gr, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - gr) + Math.abs(px[i + 2] - b) < 40) n++;
  }
  return n;
}`;

/** Pixels of the figure's screenshot within a small distance of `hex`, counted by Chromium's own decoder. */
async function pixelsOf(chart: string, hex: string): Promise<number> {
  const png = await page.locator(`figure[data-chart="${chart}"] svg`).screenshot();
  const probe = await browser.newPage();
  try {
    return await probe.evaluate<number>(
      `(${COUNT_PIXELS})(${JSON.stringify({ data: png.toString('base64'), color: hex })})`,
    );
  } finally {
    await probe.close();
  }
}

it('opens without fetching anything from the network', () => {
  expect(requested).toEqual([]);
});

it('lays out every chart with a visible size', async () => {
  for (const chart of ['throughput', 'latency-over-time', 'histogram', 'errors']) {
    const box = await page.locator(`figure[data-chart="${chart}"] svg`).boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    expect(box?.height).toBeGreaterThan(100);
  }
});

it('draws the throughput line and the latency percentile lines as paths with length', async () => {
  const lengths = await page.evaluate<[string, number][]>(
    `[...document.querySelectorAll('figure[data-chart] path[data-series]')].map((p) => [p.dataset.series, p.getTotalLength()])`,
  );
  const byName = Object.fromEntries(lengths);
  for (const series of ['operations/s', 'p50', 'p90', 'p99']) expect(byName[series]).toBeGreaterThan(200);
});

it('shows the charts in the screenshot: each chart has pixels of its series colours', async () => {
  expect(await pixelsOf('throughput', REPORT_COLORS.throughput)).toBeGreaterThan(500);
  expect(await pixelsOf('latency-over-time', REPORT_COLORS.p99)).toBeGreaterThan(500);
  expect(await pixelsOf('latency-over-time', REPORT_COLORS.p50)).toBeGreaterThan(500);
  expect(await pixelsOf('histogram', '#4e79a7')).toBeGreaterThan(500);
  expect(await pixelsOf('errors', REPORT_COLORS.errorBars)).toBeGreaterThan(200);
});

it('a chart with nothing in it would fail that check (the colour is absent from the page background)', async () => {
  expect(await pixelsOf('throughput', '#9c755f')).toBeLessThan(50);
});
