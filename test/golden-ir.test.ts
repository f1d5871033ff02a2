/**
 * Golden printed IR: the step+loss graph of each example cell and its backward graph, at small
 * sizes, compared exactly with test/golden/<cell>.txt. `UPDATE_GOLDEN=1 npx vitest run
 * test/golden-ir.test.ts` rewrites the files (review the diff before committing it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { differentiate } from '../ir/passes/differentiate.ts';
import { printGraph } from '../ir/print.ts';
import { verifyGraph } from '../ir/verify.ts';
import { stepLossGraph, traceCell } from '../src/dsl/trace.ts';
import { cellNames, cells } from './helpers.ts';

const DIR = path.join('test', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const SIZES = { X: 2, H: 3, Y: 4 };
const BATCH = 2;

/** What the golden file holds: the forward step with its loss, then forward and backward. */
function printed(name: string): string {
  const c = traceCell(cells[name]!, { sizes: SIZES, batch: BATCH });
  const fwd = stepLossGraph(c);
  const bwd = differentiate(fwd, { loss: 'loss', wrt: c.params.map((p) => p.name) });
  verifyGraph(fwd);
  verifyGraph(bwd);
  const title = `${name}.step`;
  return [
    `// ${name}: sizes ${Object.entries(SIZES).map(([k, v]) => `${k}=${v}`).join(' ')}, batch ${BATCH}`,
    `// forward: ${title}`,
    printGraph(fwd, title),
    '',
    `// forward and backward: ${title}.grad`,
    printGraph(bwd, `${title}.grad`),
    '',
  ].join('\n');
}

describe.each(cellNames.map((n) => [n]))('%s', (name) => {
  const file = path.join(DIR, `${name}.txt`);

  it('printing is deterministic', () => {
    expect(printed(name)).toBe(printed(name));
  });

  it(`matches ${file}`, () => {
    const text = printed(name);
    if (UPDATE) {
      fs.mkdirSync(DIR, { recursive: true });
      fs.writeFileSync(file, text);
    }
    expect(fs.existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 to create it`).toBe(true);
    expect(text).toBe(fs.readFileSync(file, 'utf8'));
  });
});
