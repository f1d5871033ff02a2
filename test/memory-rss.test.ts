/**
 * Peak memory does not grow with T under truncation (issue 13): the same LSTM trainer compiled for
 * T = 10,000 and T = 100,000 with --truncate 50 runs `step` and `predict` once each in a child
 * process of its own, which reports its peak resident set (`process.resourceUsage().maxRSS`). Only
 * the caller's arrays (inputs, targets, the logits predict returns: 65 bytes a step here) may grow
 * with T. Measured here: 60 MB and 63 MB. The same trainer without truncation (full BPTT, which
 * keeps every step's saved values, as it must) peaks at 81 MB and 140 MB, and fails the bound.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import lstm from '../examples/cells/lstm.ts';
import { compile } from '../src/compile-module.ts';

const SIZES = { X: 4, H: 8, Y: 3 };
const B = 2;

/** Runs in the child: one step and one predict over a seeded batch, then the peak RSS in bytes. */
const CHILD = `
const { createTrainer, spec } = await import(process.argv[2]);
const T = spec.seq, B = ${B}, X = ${SIZES.X}, Y = ${SIZES.Y};
let s = 7;
const x = Float32Array.from({ length: T * B * X }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
const targets = Int32Array.from({ length: T * B }, (_, i) => i % Y);
const trainer = createTrainer({ seed: 3 });
const loss = trainer.step({ inputs: { x }, targets });
const logits = trainer.predict({ x });
console.log(JSON.stringify({ loss, finite: logits.every(Number.isFinite), rss: process.resourceUsage().maxRSS * 1024 }));
`;

describe('peak memory under truncation', () => {
  it('step and predict at T = 100,000 stay within the T = 10,000 peak plus the larger batch (k = 50)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-rss-'));
    try {
      fs.writeFileSync(path.join(dir, 'child.mjs'), CHILD);
      const peak = async (seq: number) => {
        const mod = await compile(lstm, { sizes: SIZES, batch: B, seq, truncate: 50, format: 'js' });
        const file = path.join(dir, `trainer-${seq}.mjs`);
        fs.writeFileSync(file, mod.code);
        const r = spawnSync(process.execPath, [path.join(dir, 'child.mjs'), file], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        const out = JSON.parse(r.stdout) as { loss: number; finite: boolean; rss: number };
        expect(Number.isFinite(out.loss) && out.finite).toBe(true);
        return out.rss;
      };
      const [short, long] = [await peak(10_000), await peak(100_000)];
      const MB = 2 ** 20;
      // the caller's arrays grow by 90,000 steps · 65 bytes = 5.6 MB, which the bound allows for
      expect(long, `peak RSS ${(long / MB).toFixed(1)} MB at T = 100,000 vs ${(short / MB).toFixed(1)} MB at T = 10,000`).toBeLessThan(1.3 * short + 16 * MB);
      expect(long).toBeLessThan(150 * MB);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
