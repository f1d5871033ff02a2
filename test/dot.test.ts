/**
 * rnnc dot: every example cell drawn in every view and rendered to SVG (well-formed, with one
 * cluster per step), a golden DOT file for Elman unrolled over 3 steps (UPDATE_GOLDEN=1 npx vitest
 * run test/dot.test.ts rewrites it), determinism, what the backward and truncated views must show,
 * and bad input through the CLI.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderDot } from '../codegen/dot/render.ts';
import { cellDot, VIEWS, type View, type ViewOptions } from '../src/dot-views.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TracedCell } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import irnn from '../examples/cells/irnn.ts';
import lstm from '../examples/cells/lstm.ts';
import mgu from '../examples/cells/mgu.ts';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ROOT = path.resolve(import.meta.dirname, '..');
const GOLDEN = path.join(ROOT, 'test/golden/elman-unrolled-3.dot');
const SIZES = { X: 2, H: 3, Y: 2 };
const cells: Record<string, CellDef> = { elman, irnn, lstm, gru, mgu };

const traced = new Map<string, TracedCell>();
const trace = (name: string) => {
  if (!traced.has(name)) traced.set(name, traceCell(cells[name]!, { sizes: SIZES }));
  return traced.get(name)!;
};
const draw = (name: string, view: View, seq = 3, more: Partial<ViewOptions> & { truncate?: string } = {}) =>
  cellDot(trace(name), { view, seq, truncation: parseTruncation(more.truncate, seq), detail: 'op', ...more });

/** The SVG parses as XML (fast-xml-parser's validator: tags nest and close, attributes and entities are well formed). */
function expectWellFormedXml(xml: string): void {
  const result = XMLValidator.validate(xml);
  if (result !== true) throw new Error(`not well-formed XML: ${result.err.msg} (line ${result.err.line}, column ${result.err.col})`);
}

/** Titles of the clusters in rendered SVG (Graphviz writes each subgraph's name as its <title>). */
const svgClusters = (svg: string, prefix: string) => [...svg.matchAll(/<g id="clust\d+" class="cluster">\s*<title>([^<]*)<\/title>/g)].map((m) => m[1]!).filter((t) => new RegExp(`^${prefix}\\d`).test(t));

describe('rnnc dot: every example cell, every view, as SVG', () => {
  const expected: Record<View, { t: number; g: number }> = { cell: { t: 0, g: 0 }, unrolled: { t: 3, g: 0 }, backward: { t: 3, g: 3 } };
  // each render runs Graphviz in its own worker thread: start them all at once, check them one by one
  const renders = new Map<string, Promise<string>>();
  beforeAll(() => {
    for (const name of Object.keys(cells)) {
      for (const view of VIEWS) {
        const svg = renderDot(draw(name, view), 'svg');
        svg.catch(() => undefined); // reported by the test that awaits it
        renders.set(`${name} ${view}`, svg);
      }
    }
  });
  for (const name of Object.keys(cells)) {
    for (const view of VIEWS) {
      it(`${name} ${view}`, async () => {
        const svg = await renders.get(`${name} ${view}`)!;
        expectWellFormedXml(svg);
        expect(svg).toMatch(/<svg[\s>]/);
        expect(svgClusters(svg, 'cluster_t'), 'forward step clusters').toHaveLength(expected[view].t);
        expect(svgClusters(svg, 'cluster_g'), 'backward step clusters').toHaveLength(expected[view].g);
        if (view === 'cell') expect(svg).toContain('<title>cluster_step</title>');
      }, 60_000);
    }
  }

  it('a long sequence, one node per step: shared nodes reach each window once (lstm, 24 steps, windows of 6)', async () => {
    const dot = draw('lstm', 'backward', 24, { truncate: '6', detail: 'step' });
    const fromParams = [...dot.matchAll(/^\s*params -> s\d+ \[(.*)\];$/gm)].map((m) => m[1]!);
    expect(fromParams).toHaveLength(8); // 4 windows, forward and backward
    expect(fromParams.every((a) => /lhead="cluster_w\d"/.test(a) && a.includes('each of 6 steps'))).toBe(true);
    const svg = await renderDot(dot, 'svg');
    expectWellFormedXml(svg);
    expect(svgClusters(svg, 'cluster_t')).toHaveLength(24);
    expect(svgClusters(svg, 'cluster_g')).toHaveLength(24);
    expect(svgClusters(svg, 'cluster_w')).toHaveLength(4);
  }, 60_000);

  it('truncated windows and one node per step (lstm, 6 steps, windows of 3)', async () => {
    const svg = await renderDot(draw('lstm', 'unrolled', 6, { truncate: '3', detail: 'step' }), 'svg');
    expectWellFormedXml(svg);
    expect(svgClusters(svg, 'cluster_t')).toHaveLength(6);
    expect(svgClusters(svg, 'cluster_w')).toEqual(['cluster_w0', 'cluster_w1']);
    // the check can fail: a picture cut short does not parse
    expect(() => expectWellFormedXml(svg.slice(0, svg.length >> 1))).toThrow(/not well-formed XML/);
  }, 60_000);
});

describe('rnnc dot: what the drawing says', () => {
  /** Node statements of a DOT text by id, and its edges (the legend's samples left out). */
  const parse = (dot: string) => {
    const nodes = new Map<string, string>();
    for (const m of dot.matchAll(/^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$/gm)) if (!m[1]!.startsWith('legend')) nodes.set(m[1]!, `${m[2]!}${m[3]!}`);
    const edges = [...dot.matchAll(/^\s*(\w+) -> (\w+)(?: \[(.*)\])?;$/gm)]
      .map((m) => ({ from: m[1]!, to: m[2]!, attrs: m[3] ?? '' }))
      .filter((e) => !e.from.startsWith('legend'));
    return { nodes, edges, labelled: (re: RegExp) => [...nodes].filter(([, l]) => re.test(l)).map(([id]) => id) };
  };

  it('unrolled: each parameter once, read by every step; the state runs step to step', () => {
    const d = parse(draw('elman', 'unrolled', 4));
    for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'out_weight', 'out_bias']) {
      const ids = d.labelled(new RegExp(`^${p}\\\\n`));
      expect(ids, p).toHaveLength(1);
      expect(d.edges.filter((e) => e.from === ids[0]).length, `reads of ${p}`).toBe(4);
    }
    for (let t = 1; t <= 4; t++) expect(d.labelled(new RegExp(`^h\\[${t}\\], o\\[${t - 1}\\]\\\\ntanh`)), `h[${t}]`).toHaveLength(1);
    expect(d.labelled(/^x\[\d\]\\n/)).toHaveLength(4);
    // state edges: h[0] into step 0, h[t] from step t-1 into step t, h[4] out as the final state
    expect(d.edges.filter((e) => e.attrs.includes('penwidth=2.4') && !e.attrs.includes('dashed'))).toHaveLength(5);
  });

  it('backward: gradients styled apart, saved values marked, one summed gradient per parameter', () => {
    const dot = draw('elman', 'backward', 4);
    const d = parse(dot);
    const grads = d.labelled(/^grad_\w+\\nsum over 4 steps\\n/);
    expect(grads.map((id) => d.nodes.get(id)!.split('\\n')[0]).sort()).toEqual(['grad_bias_hh', 'grad_bias_ih', 'grad_out_bias', 'grad_out_weight', 'grad_weight_hh', 'grad_weight_ih']);
    for (const g of grads) {
      const into = d.edges.filter((e) => e.to === g);
      expect(into.length, `contributions to ${d.nodes.get(g)}`).toBe(4);
      expect(into.every((e) => e.attrs.includes('style="dashed"'))).toBe(true);
    }
    expect(d.labelled(/saved for backward/).length).toBeGreaterThanOrEqual(4);
    expect(dot).toContain('color="#7d3c98"'); // saved-value edges
    // the gradient carried from step t+1 to step t: bold dashed red, laid out forward and drawn back
    expect(d.edges.filter((e) => e.attrs.includes('penwidth=2.4') && e.attrs.includes('dashed') && e.attrs.includes('dir="back"'))).toHaveLength(3);
  });

  it('truncated backward: the state crosses each window boundary through a stop-gradient, with no gradient back', () => {
    const d = parse(draw('elman', 'backward', 4, { truncate: '2' }));
    const stops = d.labelled(/stop-gradient/);
    expect(stops.length).toBeGreaterThanOrEqual(1);
    for (const s of stops) {
      const touching = d.edges.filter((e) => e.from === s || e.to === s);
      expect(touching.length).toBeGreaterThan(0);
      expect(touching.filter((e) => e.attrs.includes('color="#c0392b"')), 'gradient edges at a stop-gradient').toEqual([]);
      expect(touching.some((e) => e.attrs.includes('style="dotted"'))).toBe(true);
    }
    expect(d.labelled(/^grad_weight_hh\\nsum over 4 steps/)).toHaveLength(1);
  });

  it('truncated backward: one forward and one backward cluster per step, one window box per window', () => {
    const dot = draw('elman', 'backward', 4, { truncate: '2' });
    expect([...dot.matchAll(/subgraph cluster_t\d/g)]).toHaveLength(4);
    expect([...dot.matchAll(/subgraph cluster_g\d/g)]).toHaveLength(4);
    expect([...dot.matchAll(/subgraph cluster_w\d/g)]).toHaveLength(2);
  });

  it('--detail step: one node per step, parameters and their gradients one node each', () => {
    const d = parse(draw('lstm', 'backward', 4, { detail: 'step' }));
    expect(d.labelled(/^lstm step\\nt = \d/)).toHaveLength(4);
    expect(d.labelled(/^lstm backward\\nt = \d/)).toHaveLength(4);
    expect(d.labelled(/^parameters, shared by every step/)).toHaveLength(1);
    expect(d.labelled(/^parameter gradients, each summed over 4 steps/)).toHaveLength(1);
  });
});

describe('rnnc dot: golden and deterministic', () => {
  it('elman unrolled over 3 steps matches test/golden/elman-unrolled-3.dot', () => {
    // draw other cells first: IR node ids depend on what was built before, the drawing must not
    for (const name of ['lstm', 'gru']) draw(name, 'backward');
    const dot = draw('elman', 'unrolled', 3);
    if (UPDATE) fs.writeFileSync(GOLDEN, dot);
    expect(fs.existsSync(GOLDEN), `${GOLDEN} is missing: run with UPDATE_GOLDEN=1 to create it`).toBe(true);
    expect(dot).toBe(fs.readFileSync(GOLDEN, 'utf8'));
  });

  it('the same input gives the same bytes, drawn and rendered twice', async () => {
    const a = draw('gru', 'backward', 4, { truncate: '2', detail: 'step' });
    const b = draw('gru', 'backward', 4, { truncate: '2', detail: 'step' });
    expect(b).toBe(a);
    // one after the other and side by side: a render must not depend on the ones before it
    const first = await renderDot(a, 'svg');
    const [second, third] = await Promise.all([renderDot(a, 'svg'), renderDot(b, 'svg')]);
    expect(second).toBe(first);
    expect(third).toBe(first);
  }, 60_000);
});

describe('rnnc dot: the CLI', () => {
  let root: string;
  let dir: string; // a fresh, empty folder per test
  beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-dot-'))));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => (dir = fs.mkdtempSync(path.join(root, 'case-'))));
  const rnnc = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/rnnc.mjs'), 'dot', ...args], { cwd: ROOT, encoding: 'utf8' });
  const cell = 'examples/cells/elman.ts';
  const small = ['-s', 'X=2', '-s', 'H=3', '-s', 'Y=2'];

  it('writes .svg and .dot; prints DOT without -o, byte for byte the golden', () => {
    const svg = path.join(dir, 'e.svg');
    const r = rnnc(cell, ...small, '--view', 'unrolled', '--seq', '3', '-o', svg);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expectWellFormedXml(fs.readFileSync(svg, 'utf8'));
    const out = rnnc(cell, ...small, '--view', 'unrolled', '--seq', '3');
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(fs.readFileSync(GOLDEN, 'utf8'));
    expect(fs.readdirSync(dir)).toEqual(['e.svg']);
  }, 60_000);

  const bad: [string, string[], RegExp][] = [
    ['an unknown view', ['--view', 'sideways', '-o', 'OUT/x.svg'], /--view: unknown view 'sideways'/],
    ['a sequence length of zero', ['--view', 'unrolled', '--seq', '0', '-o', 'OUT/x.svg'], /--seq: '0' must be a positive integer/],
    ['an output folder that does not exist', ['-o', 'OUT/missing/x.svg'], /folder '.*missing' does not exist/],
    ['an unknown extension', ['-o', 'OUT/x.pdf'], /unknown output format '\.pdf'/],
    ['a .png path', ['-o', 'OUT/x.png'], /PNG output needs a native build/],
    ['an output path that is a folder', ['-o', 'OUT/adir.svg'], /is a folder/],
    ['an unknown pass', ['--view', 'backward', '--after', 'nope', '-o', 'OUT/x.svg'], /--after: unknown pass 'nope'/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what}: non-zero exit, one clear line, no file left`, () => {
      fs.mkdirSync(path.join(dir, 'adir.svg'), { recursive: true });
      const r = rnnc(cell, ...small, ...args.map((a) => a.replace('OUT', dir)));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^rnnc dot: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe('');
      expect(fs.readdirSync(dir)).toEqual(['adir.svg']);
      expect(fs.readdirSync(path.join(dir, 'adir.svg'))).toEqual([]);
    }, 30_000);
  }
});
