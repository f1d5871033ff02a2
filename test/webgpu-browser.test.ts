/**
 * The WebGPU page of examples/consumers/web (webgpu.html) in headless Chromium: Debian's chromium,
 * driven by playwright-core, with WebGPU enabled (--enable-unsafe-webgpu; Chromium runs it on
 * SwiftShader here). The example's cell compiled by its build:webgpu script to trainer-webgpu.js,
 * the folder served on 127.0.0.1, and the page training thirty steps on the browser's GPUDevice;
 * the losses it reports fall, and a screenshot of the page with its loss chart is written to
 * out/webgpu-browser.png. A missing chromium or adapter fails the test (it never skips).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildArgs, copyProject, ROOT, run, serve } from './consumer-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const TIMEOUT = 240_000;
const SCREENSHOT = path.join(ROOT, 'out/webgpu-browser.png');

let dir: string;
beforeAll(() => {
  dir = copyProject('web', fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-webgpu-')));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules/rnnc'), 'dir');
  run(process.execPath, [path.join(ROOT, 'bin/rnnc.mjs'), ...buildArgs(dir, 'build:webgpu')], dir);
  run(process.execPath, [path.join(ROOT, 'bin/rnnc.mjs'), ...buildArgs(dir, 'build')], dir);
});

/** Chromium with WebGPU, a page of the served example open; closed after `use`. */
async function withPage<R>(file: string, use: (page: import('playwright-core').Page, problems: string[]) => Promise<R>): Promise<R> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with 'apt-get update && apt-get install -y chromium' (npm test does, as root)`);
  const server = await serve(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--enable-unsafe-webgpu'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(`${server.url}${file}`);
    return await use(page, problems);
  } finally {
    await browser.close();
    server.stop();
  }
}
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('webgpu.html trains on the browser\'s GPU in Chromium, the loss falling, and draws it', async () => {
  await withPage('webgpu.html', async (page, problems) => {
    type Page = { rnncLosses?: number[]; rnncError?: string };
    const done = await page.waitForFunction(() => (globalThis as Page).rnncLosses ?? (globalThis as Page).rnncError, null, { timeout: TIMEOUT - 60_000 });
    const result = (await done.jsonValue()) as number[] | string;
    if (typeof result === 'string') throw new Error(`the page failed: ${result}\n${problems.join('\n')}`);
    expect(problems).toEqual([]);
    expect(result).toHaveLength(30);
    for (const l of result) expect(Number.isFinite(l)).toBe(true);
    // Adam on a fixed batch: not every step need be lower, but the loss must fall well
    expect(result.at(-1)!).toBeLessThan(0.7 * result[0]!);
    expect(await page.locator('#log').textContent()).toMatch(/step 30: loss \d/);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
}, TIMEOUT);

it('in Chromium, the WebGPU trainer matches the TS trainer of the same cell: loss, gradients, and parameters after three steps', async () => {
  await withPage('index.html', async (page) => {
    // both modules imported by the page itself, on the browser's own GPUDevice (the code passed
    // as text: vitest would rewrite an import() written in this file)
    const worst = (await page.evaluate(`(async () => {
      const ts = await import('./trainer.js'), gpu = await import('./trainer-webgpu.js');
      const device = await (await navigator.gpu.requestAdapter()).requestDevice();
      const a = ts.createTrainer({ seed: 3 }), b = await gpu.createTrainer(device, { seed: 3 });
      const { batch: B, seq: T } = ts.spec, X = ts.spec.sizes.X, Y = ts.spec.sizes.Y;
      let seed = 7;
      const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const batch = { inputs: { x: new Float32Array(T * B * X).map(() => 2 * rand() - 1) }, targets: new Int32Array(T * B).map(() => Math.floor(rand() * Y)) };
      const scaled = (x, y) => Math.max(...Object.keys(y).map((k) => {
        let d = 0, s = 0;
        for (let i = 0; i < y[k].length; i++) d = Math.max(d, Math.abs(x[k][i] - y[k][i])), s = Math.max(s, Math.abs(y[k][i]));
        return d / (1e-3 + s);
      }));
      const l = a.lossAndGrad(batch);
      const loss = Math.abs((await b.lossAndGrad(batch)) - l) / l;
      const grads = scaled(await b.readGrads(), a.grads);
      a.resetState();
      b.resetState();
      for (let i = 0; i < 3; i++) a.step(batch), await b.step(batch);
      return { loss, grads, params: scaled(await b.readParams(), a.params) };
    })()`)) as { loss: number; grads: number; params: number };
    expect(worst.loss).toBeLessThan(1e-4);
    expect(worst.grads).toBeLessThan(1e-4);
    expect(worst.params).toBeLessThan(1e-4);
  });
}, TIMEOUT);
