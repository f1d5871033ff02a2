/** rnnc dot refuses at once a drawing Graphviz cannot lay out in minutes (issue 13), writing nothing. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('rnnc dot past what Graphviz lays out', () => {
  it('an op-level .svg of the LSTM over 40 steps: exit 1, one line with the advice, no file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-dot-'));
    try {
      const out = path.join(dir, 'big.svg');
      const r = spawnSync('node', ['bin/rnnc.mjs', 'dot', 'examples/cells/lstm.ts', '--view', 'backward', '--seq', '40', '-o', out], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^rnnc dot: --detail op: this drawing has \d+ edges, more than Graphviz lays out in minutes \(1000\); use --detail step/)]);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('more than 1,000 truncation windows: exit 1 at once, one line with the count and the advice, no file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-dot-'));
    try {
      const out = path.join(dir, 'windows.dot');
      const r = spawnSync('node', ['bin/rnnc.mjs', 'dot', 'examples/cells/elman.ts', '--view', 'backward', '--detail', 'step', '--seq', '10000', '--truncate', '3', '-o', out], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual(['rnnc dot: --truncate 3: 3334 windows over --seq 10000, more than rnnc dot draws (1000); use a longer --truncate or a shorter --seq']);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['step', '1000000000', 'rnnc dot: --seq 1000000000: more steps than rnnc dot draws at --detail step (20000); draw a shorter --seq (every step is drawn alike)'],
    ['op', '5001', 'rnnc dot: --seq 5001: more steps than rnnc dot draws at --detail op (5000); draw a shorter --seq or --detail step (every step is drawn alike)'],
  ])('a sequence longer than it draws at --detail %s: exit 1 at once, one line, no file', (detail, seq, line) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-dot-'));
    try {
      const r = spawnSync('node', ['bin/rnnc.mjs', 'dot', 'examples/cells/elman.ts', '--view', 'unrolled', '--detail', detail, '--seq', seq, '-o', path.join(dir, 'long.dot')], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([line]);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same drawing as .dot text is written (no layout is run)', () => {
    const r = spawnSync('node', ['bin/rnnc.mjs', 'dot', 'examples/cells/lstm.ts', '--view', 'backward', '--seq', '40'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('digraph')).toBe(true);
  });
});
