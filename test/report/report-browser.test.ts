/**
 * The report in a real browser: Debian's headless Chromium driven by playwright-core opens the file the CLI wrote
 * for a real run of the toy pipeline, without network, and must render it without errors. Keeps a screenshot in docs/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../engine/support.js';
import { CHROMIUM, chromiumMissing, toyWorkspace } from './support.js';

// The screenshot in docs/ is refreshed on request (SYNTHCSE_UPDATE_SCREENSHOT=1 npm test), so a test run leaves the
// work tree clean; otherwise it goes to a temp file and is only checked.
const SCREENSHOT = process.env.SYNTHCSE_UPDATE_SCREENSHOT ? join(repoRoot, 'docs', 'report-screenshot.png') : join(tmpdir(), `synthcse-report-${process.pid}.png`);
const SCREENSHOT_MAX_BYTES = 300 * 1024;

test('the report renders in Chromium: DAG, node table, curves, STS table, no errors, no network', { skip: chromiumMissing() }, async () => {
  const { ws, file } = toyWorkspace();
  const run = ws.run(['run', file]);
  assert.equal(run.code, 0, run.stderr);
  const report = ws.run(['report', file, '--out', 'report.html']);
  assert.equal(report.code, 0, report.stderr);

  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'synthcse-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) problems.push(`network request: ${request.url()}`);
    });
    await page.goto(pathToFileURL(join(ws.dir, 'report.html')).href, { waitUntil: 'load' });
    await page.waitForSelector('.chart[data-drawn="true"]', { timeout: 10_000 });

    const dag = page.locator('svg.dag');
    assert.ok(await dag.isVisible(), 'the DAG is visible');
    const labels = await page.locator('svg.dag .node-title').allTextContents();
    assert.deepEqual([...labels].sort(), ['clean', 'eval', 'pairs', 'sentences', 'train']);
    assert.equal(await page.locator('svg.dag .edge').count(), 4);

    const sts = page.locator('section.node-section[data-node="eval"] table.results');
    assert.ok(await sts.isVisible(), 'the results table the eval node type contributes is visible');
    assert.match(await page.locator('section.node-section[data-node="eval"] tr.baseline').innerText(), /GloVe avg \(baseline\)/, 'the baseline row, muted');
    const stsText = await sts.innerText();
    assert.match(stsText, /GloVe avg \(baseline\)/);
    assert.match(stsText, /stsb-dev/i);

    const nodeRows = page.locator('table.nodes tbody tr');
    assert.equal(await nodeRows.count(), 5);
    assert.match(await page.locator('table.nodes tr[data-node="clean"]').innerText(), /refusals/);

    const charts = page.locator('.chart[data-curve]');
    assert.equal(await charts.count(), 2, 'loss and dev curves');
    for (let i = 0; i < 2; i++) {
      const canvas = charts.nth(i).locator('canvas');
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `chart ${i} has a drawn canvas (${JSON.stringify(box)})`);
    }

    // Sentences with quotes, < and & are shown as text, not markup.
    const samples = await page.locator('#samples').innerText();
    assert.match(samples, /A child's kite <b>flies<\/b> over the beach\./);
    assert.equal(await page.locator('#samples b').count(), 0);

    assert.deepEqual(problems, []);

    await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: 1800 }, fullPage: true });
    const size = statSync(SCREENSHOT).size;
    assert.ok(size < SCREENSHOT_MAX_BYTES, `screenshot is ${size} bytes`);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
