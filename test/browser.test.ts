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
  // the same trainer for the wasm target, beside it (docs/wasm.md: a page must create it asynchronously)
  run(process.execPath, [path.join(ROOT, 'bin/rnnc.mjs'), ...buildArgs(dir).map((a) => (a === 'trainer.js' ? 'trainer-wasm.js' : a)), '--target', 'wasm'], dir);
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

it('the wasm target in Chromium: createTrainerAsync() on the main thread trains, the loss falling; createTrainer() gives the same trainer where the page may compile synchronously', async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with 'apt-get update && apt-get install -y chromium' (.ci/run does)`);
  const server = await serve(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => (globalThis as { rnncLosses?: number[] }).rnncLosses, null, { timeout: TIMEOUT - 30_000 });
    // (as text: vitest would rewrite a dynamic import inside a function passed to evaluate)
    const out = (await page.evaluate(`(async () => {
      const m = await import(${JSON.stringify(`${server.url}trainer-wasm.js`)});
      let sync = null, syncLoss = null;
      try { sync = m.createTrainer({ seed: 1 }); } catch (e) { sync = String(e); }
      const t = await m.createTrainerAsync({ seed: 1 });
      const { batch: B, seq: T } = m.spec, X = m.spec.sizes.X;
      let seed = 3;
      const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const x = new Float32Array(T * B * X).map(() => 2 * rand() - 1);
      const targets = new Int32Array(T * B).map((_, i) => i % 2);
      const losses = [];
      if (typeof sync !== 'string') syncLoss = sync.step({ inputs: { x }, targets });
      for (let i = 0; i < 10; i++) { t.resetState(); losses.push(t.step({ inputs: { x }, targets })); }
      return { sync: typeof sync === 'string' ? sync : 'created', syncLoss, losses };
    })()`)) as { sync: string; syncLoss: number | null; losses: number[] };
    // Chromium 156 compiles a module of this size (tens of KB) synchronously on the main thread too;
    // where it refuses, the error names WebAssembly. Either way the async creator must work.
    if (out.sync === 'created') expect(out.syncLoss, 'createTrainer and createTrainerAsync give the same trainer').toBe(out.losses[0]);
    else expect(out.sync).toMatch(/WebAssembly/);
    expect(out.losses).toHaveLength(10);
    expectFalling(out.losses);
  } finally {
    await browser.close();
    server.stop();
  }
}, TIMEOUT);
