/**
 * Golden generated trainers: the TypeScript module rnnc writes for the stock cells at small sizes,
 * compared exactly with test/golden/trainer/<case>.ts, so that every change of the emitted code
 * shows up in review. `UPDATE_GOLDEN=1 npx vitest run test/golden-trainer.test.ts` rewrites the
 * files (read the diff before committing it). Correctness is checked elsewhere (codegen-ts,
 * trainer-api, the PyTorch fixtures); this file only makes changes visible.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import elman from '../examples/cells/elman.ts';
import gru from '../examples/cells/gru.ts';
import lstm from '../examples/cells/lstm.ts';
import { compileTrainer } from '../src/compile.ts';
import type { CellDef } from '../src/dsl/cell.ts';
import { traceCell, type TraceOptions } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';

const DIR = path.join('test', 'golden', 'trainer');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const SIZES = { X: 2, H: 3, Y: 4 };
const B = 2, T = 4;

const CASES: readonly { file: string; def: CellDef; trace?: TraceOptions; truncate?: string }[] = [
  { file: 'elman', def: elman },
  { file: 'elman-truncate-2', def: elman, truncate: '2' },
  { file: 'lstm', def: lstm },
  { file: 'lstm-truncate-2', def: lstm, truncate: '2' },
  { file: 'lstm-embed', def: lstm, trace: { embed: { x: 5 } } },
  { file: 'gru', def: gru },
  { file: 'gru-truncate-3', def: gru, truncate: '3' },
  { file: 'elman-mse-last', def: elman, trace: { loss: 'mse', lossOn: 'last' } },
];

const generate = (k: (typeof CASES)[number]) =>
  compileTrainer(traceCell(k.def, { sizes: SIZES, batch: B, ...k.trace }), { seq: T, truncation: parseTruncation(k.truncate, T) });

describe.each(CASES.map((k) => [k.file, k]))('%s', (_name, k) => {
  const file = path.join(DIR, `${k.file}.ts.golden`);
  it(`matches ${file}`, () => {
    const text = generate(k);
    if (UPDATE) {
      fs.mkdirSync(DIR, { recursive: true });
      fs.writeFileSync(file, text);
    }
    expect(fs.existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 to create it`).toBe(true);
    expect(text).toBe(fs.readFileSync(file, 'utf8'));
  });
});
