/**
 * The types a consumer sees, checked by the TypeScript compiler (ts-morph diagnostics): a small
 * program using a trainer type-checks under `strict` against trainer.js + trainer.d.ts, and the
 * same program with a wrong batch (a Float32Array of targets, a missing input), a size that is
 * not the compiled one (spec is a literal type), or an unknown method is a type error at that line.
 * The .d.ts is checked itself (no skipLibCheck) and under the strictest options as well; the .ts
 * output gives the same verdicts under `strict`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Project, ts } from 'ts-morph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/compile-module.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CELL = path.join(ROOT, 'examples/cells/elman.ts');
const OPTIONS = { sizes: { X: 4, H: 16, Y: 3 }, batch: 8, seq: 12 } as const;

/** The consumer; `WRONG` marks the line a case replaces. */
const consumer = (from: string, wrong = '') => `import { createTrainer, spec, type Batch, type Trainer } from '${from}';
const B: 8 = spec.batch;
const T: 12 = spec.seq;
const x = new Float32Array(T * B * spec.sizes.X);
const targets = new Int32Array(T * B);
const trainer: Trainer = createTrainer({ seed: 1, lr: 0.05 });
const batch: Batch = { inputs: { x }, targets };
const loss: number = trainer.step(batch) + trainer.lossAndGrad(batch);
const logits: Float32Array = trainer.predict({ x });
trainer.predict({ x }, logits);
const h: Float32Array | undefined = trainer.state['h'];
trainer.loadParams(trainer.saveParams());
export const used = [loss, h];
${wrong}
`;
const WRONG_LINE = 14;

const wrongs: [string, string, RegExp][] = [
  ['targets as a Float32Array', 'trainer.step({ inputs: { x }, targets: new Float32Array(T * B) });', /Float32Array.* is not assignable to type 'Int32Array/],
  ['a batch without its input', 'trainer.step({ inputs: {}, targets });', /Property 'x' is missing/],
  ['an input of the wrong array type', 'trainer.predict({ x: new Float64Array(1) });', /Float64Array.* is not assignable to type 'Float32Array/],
  ['a size the module was not compiled for', 'const H: 32 = spec.sizes.H;', /Type '16' is not assignable to type '32'/],
  ['a method trainers do not have', 'trainer.fit(batch);', /Property 'fit' does not exist on type 'Trainer'/],
];

const STRICT: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: [],
  skipLibCheck: false,
};
const STRICTEST: ts.CompilerOptions = { ...STRICT, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true, noUnusedLocals: true, noImplicitReturns: true, verbatimModuleSyntax: true };

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-types-'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n'); // NodeNext: .ts and .js are ES modules here
  const js = await compile(CELL, { ...OPTIONS, format: 'js' });
  fs.writeFileSync(path.join(dir, 'trainer.js'), js.code);
  fs.writeFileSync(path.join(dir, 'trainer.d.ts'), js.dts!);
  fs.writeFileSync(path.join(dir, 'source.ts'), (await compile(CELL, OPTIONS)).code);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every diagnostic of a consumer program as `line: message`, the consumer's and the trainer's. */
function check(source: string, options: ts.CompilerOptions): string[] {
  const project = new Project({ compilerOptions: options });
  const file = path.join(dir, `consumer-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(file, source);
  try {
    project.addSourceFileAtPath(file);
    project.resolveSourceFileDependencies();
    return project.getPreEmitDiagnostics().map((d) => {
      const where = d.getSourceFile()?.getFilePath() === file ? `${d.getLineNumber()}` : `${path.basename(d.getSourceFile()?.getFilePath() ?? '?')}:${d.getLineNumber()}`;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, ' ')}`;
    });
  } finally {
    fs.rmSync(file);
  }
}

describe('the declarations of a JavaScript trainer', () => {
  it('a consumer type-checks under strict and under the strictest options, the .d.ts included', () => {
    expect(check(consumer('./trainer.js'), STRICT)).toEqual([]);
    expect(check(consumer('./trainer.js'), STRICTEST)).toEqual([]);
  });

  it.each(wrongs)('%s is a type error at its line', (_, line, message) => {
    const found = check(consumer('./trainer.js', line), STRICT);
    expect(found.length, found.join('\n')).toBeGreaterThan(0);
    for (const d of found) expect(d).toMatch(new RegExp(`^${WRONG_LINE}: `));
    expect(found.join('\n')).toMatch(message);
  });
});

describe('the TypeScript trainer', () => {
  it('gives the same verdicts under strict', () => {
    const from = './source.ts';
    const options = { ...STRICT, allowImportingTsExtensions: true };
    expect(check(consumer(from), options)).toEqual([]);
    for (const [, line] of wrongs) expect(check(consumer(from, line), options)).toEqual(check(consumer('./trainer.js', line), STRICT));
  });
});
