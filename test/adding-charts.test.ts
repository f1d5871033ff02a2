/**
 * The adding problem's charts (examples/adding/charts.ts, vega-lite rendered to SVG in Node): the
 * SVG parses as XML and holds one line per series, each named in the legend; the charts committed in
 * docs/ hold one MSE curve per model and, per model, a gradient curve at initialization and trained;
 * the example runs end to end at a toy size and writes its charts where --out says, not over docs/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { lineChartSvg } from '../examples/adding/charts.ts';
import { addingBatch, BASELINE_MSE, random } from '../examples/adding/data.ts';

type El = Record<string, unknown>;
/** The series of an SVG vega renders: each line mark's name, and each legend label's text. */
function seriesOf(svg: string): { lines: string[]; legend: string[] } {
  expect(XMLValidator.validate(svg)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: false }).parse(svg) as El;
  const lines: string[] = [], legend: string[] = [];
  const walk = (node: unknown, parentClass = ''): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, parentClass));
    if (typeof node !== 'object' || node === null) return;
    const el = node as El;
    if (el['aria-roledescription'] === 'line mark' && typeof el['aria-label'] === 'string') lines.push(/series: (.*)$/.exec(el['aria-label'])![1]!);
    const cls = typeof el.class === 'string' ? el.class : parentClass;
    if (cls.includes('role-legend-label') && el.text !== undefined) {
      const t = el.text as unknown;
      for (const x of Array.isArray(t) ? t : [t]) legend.push(typeof x === 'object' && x !== null ? String((x as El)['#text']) : String(x));
    }
    for (const [k, v] of Object.entries(el)) if (typeof v === 'object') walk(v, k === 'text' ? cls : cls);
  };
  walk(doc);
  return { lines, legend };
}

describe('charts', () => {
  it('one line per series, named in the legend, on a log axis', async () => {
    const points = ['tanh RNN', 'IRNN', 'LSTM'].flatMap((series, k) => [0, 100, 200].map((x) => ({ series, x, y: 0.2 / (1 + k * x) })));
    const svg = await lineChartSvg({ title: 't', x: 'updates', y: 'MSE', logY: true, points, rule: { y: BASELINE_MSE, label: 'always 1' } });
    const { lines, legend } = seriesOf(svg);
    expect(lines).toEqual(['tanh RNN', 'IRNN', 'LSTM']);
    expect(legend).toEqual(['tanh RNN', 'IRNN', 'LSTM']);
    expect(svg).toContain('always 1');
  });

  it('the committed charts in docs/: one MSE curve per model; a gradient curve per model at init and trained, ρ(W_hh) in each name', () => {
    const mse = seriesOf(fs.readFileSync('docs/adding-mse.svg', 'utf8'));
    expect(mse.lines).toEqual(['tanh RNN', 'IRNN', 'LSTM']);
    const grad = seriesOf(fs.readFileSync('docs/adding-gradients.svg', 'utf8'));
    expect(grad.lines.length).toBe(6);
    for (const m of ['tanh RNN', 'IRNN', 'LSTM']) for (const when of ['init', 'trained']) {
      expect(grad.lines.filter((l) => l.startsWith(`${m}, ${when} (ρ(W_hh`)), `${m} ${when}`).toHaveLength(1);
    }
    expect(grad.legend).toEqual(grad.lines);
  });
});

describe('the adding problem data', () => {
  it('two markers per sequence, one in each half; the target is the sum of the marked values', () => {
    const T = 10, B = 4, { inputs, targets } = addingBatch(random(3), T, B);
    for (let b = 0; b < B; b++) {
      const marked = Array.from({ length: T }, (_, t) => t).filter((t) => inputs.x[(t * B + b) * 2 + 1] === 1);
      expect(marked.length).toBe(2);
      expect(marked[0]!).toBeLessThan(T / 2);
      expect(marked[1]!).toBeGreaterThanOrEqual(T / 2);
      expect(targets[b]).toBeCloseTo(inputs.x[(marked[0]! * B + b) * 2]! + inputs.x[(marked[1]! * B + b) * 2]!, 6);
    }
  });
});

describe('examples/adding/train.ts at a toy size', () => {
  it('trains the three models, writes both charts to --out and states whether the theory was reproduced', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-adding-'));
    const before = fs.readFileSync('docs/adding-mse.svg', 'utf8');
    const out = execFileSync('npx', ['tsx', 'examples/adding/train.ts', '--T', '6', '--updates', '20', '--eval-every', '10', '--hidden', '4', '--batch', '4', '--out', dir], { encoding: 'utf8' });
    for (const m of ['tanh RNN', 'IRNN', 'LSTM']) expect(out).toMatch(new RegExp(`^${m} +held-out MSE \\d\\.\\d{4} after 20 updates`, 'm'));
    expect(out).toMatch(/^expected tanh RNN above 0\.1, IRNN below 0\.01, LSTM below 0\.01: (reproduced|not reproduced \(.*\))$/m);
    expect(seriesOf(fs.readFileSync(path.join(dir, 'adding-mse.svg'), 'utf8')).lines).toEqual(['tanh RNN', 'IRNN', 'LSTM']);
    expect(seriesOf(fs.readFileSync(path.join(dir, 'adding-gradients.svg'), 'utf8')).lines).toHaveLength(6);
    expect(fs.readFileSync('docs/adding-mse.svg', 'utf8')).toBe(before);
    fs.rmSync(dir, { recursive: true });
  }, 120_000);
});
