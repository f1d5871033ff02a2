/**
 * The web page of examples/consumers/web in headless Chromium (Debian's chromium, driven by
 * playwright-core): the example's cell compiled by its build script to trainer.js, the folder served
 * by its serve.mjs on 127.0.0.1 (a free port), and the page's <script type="module"> importing the
 * trainer and training ten steps; the losses it reports fall at every step. A missing chromium fails
 * the test: .ci/run installs it (apt-get install -y chromium).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildArgs, copyProject, expectFalling, ROOT, run, serve } from './consumer-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const TIMEOUT = 180_000;

let dir: string;
beforeAll(() => {
  dir = copyProject('web', fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-web-')));
  // the cell imports 'rnnc/dsl': here that is this working tree, as `npm install rnnc` would make it
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules/rnnc'), 'dir');
  run(process.execPath, [path.join(ROOT, 'bin/rnnc.mjs'), ...buildArgs(dir)], dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('a page imports trainer.js and trains ten steps in Chromium, the loss falling', async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with 'apt-get update && apt-get install -y chromium' (.ci/run does)`);
  const server = await serve(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    // a failing module script never sets the result: stop at its error instead of waiting on
    const failed = new Promise<never>((_, reject) => page.on('pageerror', (e) => reject(new Error(`the page threw: ${e.message}\n${problems.join('\n')}`))));
    failed.catch(() => {}); // (observed below; not an unhandled rejection if the page is done first)
    await page.goto(server.url);
    const done = page.waitForFunction(() => (globalThis as { rnncLosses?: number[] }).rnncLosses, null, { timeout: TIMEOUT - 30_000 });
    const losses = (await (await Promise.race([done, failed])).jsonValue()) as number[];
    expect(problems).toEqual([]);
    expect(losses).toHaveLength(10);
    expectFalling(losses);
    expect(await page.locator('#log').textContent()).toMatch(/step 10: loss \d/);

  } finally {
    await browser.close();
    server.stop();
  }
}, TIMEOUT);
