/**
 * The report sections a researcher acts on, rendered in Chromium from a real run against the loopback LLM: yield per
 * prompt instruction, failed items with their raw answers, rows removed by each filter rule with examples, cost and
 * requests over time; and `report --compare` of two runs side by side.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { oneLineResponder } from '../faults/crash-scenario.js';
import { FaultProject, pipelineYaml, premises } from '../faults/support.js';
import { startMockLlmServer, type MockChatRequest } from '../support/mock-llm-server.js';
import { CHROMIUM, chromiumMissing } from './support.js';

/** Refuses the first premise, and answers the second with its own text (an identical pair the filter removes). */
function responder(request: MockChatRequest): string {
  const last = request.messages[request.messages.length - 1]!.content;
  if (last.includes('number 0.')) return "I'm sorry, but I can't help with that request.";
  const echo = /(\S[^\n]*number 1\.)/.exec(last);
  if (echo) return echo[1]!.replace(/^Input:\s*/, '');
  return oneLineResponder(request);
}

test('report sections in Chromium: yield per instruction, failed items with raw answers, removals with examples, spend over time; the comparison view', { skip: chromiumMissing() }, async () => {
  const server = await startMockLlmServer({ responder, latencyMs: 20 });
  const p = new FaultProject();
  try {
    p.write('premises.txt', premises(12).join('\n') + '\n');
    p.write('p.yaml', pipelineYaml({ train: false }));
    const first = await p.run(['run', 'p.yaml', '--max-failed', '20%'], server.url);
    assert.equal(first.code, 0, first.stderr);
    const second = await p.run(['run', 'p.yaml', '--max-failed', '20%', '--set', 'nodes.clean.with.rules=[{rule: trim}]'], server.url);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await p.run(['report', 'p.yaml', '--out', 'report.html'])).code, 0);
    const ids = (await p.run(['runs', '--json'])).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { runId: string }).runId.slice(0, 8));
    assert.equal((await p.run(['report', '--run', ids[1]!, '--out', 'first.html'])).code, 0);
    assert.equal((await p.run(['report', '--compare', ids[1]!, ids[0]!, '--out', 'compare.html'])).code, 0);

    const { chromium } = await import('playwright-core');
    const userDataDir = mkdtempSync(join(tmpdir(), 'synthcse-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });

      await page.goto(pathToFileURL(join(p.dir, 'first.html')).href, { waitUntil: 'load' });
      await page.waitForSelector('#spend .chart[data-drawn="true"]', { timeout: 10_000 });
      const section = (node: string, title: string) => page.locator(`section.node-section[data-node="${node}"]`, { hasText: title });
      const yields = await section('annotate', 'Yield per instruction').innerText();
      assert.match(yields, /instruction \(positive \/ negative\)\s+items\s+usable\s+yield\s+rows/i);
      const failed = await section('annotate', 'Failed items with their raw answers').innerText();
      assert.match(failed, /number 0\./);
      assert.match(failed, /I'm sorry, but I can't help with that request\./, 'the raw answer');
      const removed = await section('clean', 'Rows removed by each rule').innerText();
      assert.match(removed, /identical/);
      assert.match(removed, /number 1\./, 'an example of a removed row');
      assert.match(await page.locator('#spend').innerText(), /Requests sent so far/);
      const canvas = await page.locator('#spend .chart canvas').first().boundingBox();
      assert.ok(canvas && canvas.width > 100, 'the cost chart is drawn');

      await page.goto(pathToFileURL(join(p.dir, 'compare.html')).href, { waitUntil: 'load' });
      // Header cells are styled upper-case; innerText follows the style.
      const compare = await page.locator('table.compare').innerText();
      assert.ok(compare.toLowerCase().includes(ids[0]!) && compare.toLowerCase().includes(ids[1]!), compare);
      assert.match(compare, /nodes\.clean\.with\.rules=\[\{rule: trim\}\]/);
      assert.match(compare, /LLM cost/i);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  } finally {
    await server.close();
  }
});
