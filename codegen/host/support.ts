/**
 * The host's module-level helpers, the same for every target: the seeded generator and init
 * helpers, the batch checks (each names the field and both sizes), and parameter files saved and
 * loaded as JSON (checked whole before anything changes).
 */
import { CodeBlockWriter, type Project } from 'ts-morph';
import type { Init, ModelInterface } from '../../ir/program.ts';
import { writeOrthogonal, writeRandom } from './runtime.ts';
import { writeLengthsSupport } from './lengths.ts';
import type { TrainerConfig } from './trainer.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const newWriter = () => new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true });

/**
 * The optimizer settings a trainer's `hyper` holds, the same in every host (an optimizer reads the
 * ones it uses), so that a checkpoint's `hyper` loads in every target's trainer.
 */
export type HyperName = 'lr' | 'momentum' | 'beta1' | 'beta2' | 'eps' | 'weightDecay' | 'alpha' | 'clip';
export const HYPER_NAMES: readonly HyperName[] = ['lr', 'momentum', 'beta1', 'beta2', 'eps', 'weightDecay', 'alpha', 'clip'];
/** The module's `Hyper` type. */
export const HYPER_TYPE = `{ ${HYPER_NAMES.map((n) => `${n}: number${n === 'clip' ? ' | null' : ''}`).join('; ')} }`;
/** The module's `StepStats`: what the last step did (trainer.lastStep). */
export const STEP_STATS = { name: 'StepStats', isExported: true, properties: ['loss', 'gradNorm', 'clipped'].map((name) => ({ name, type: name === 'clipped' ? 'boolean' : 'number', isReadonly: true })) };

/** Batch checks, parameter (de)serialisation, init helpers, the optimizer settings' checks: module-level functions. */
export function writeSupport(sf: ReturnType<Project['createSourceFile']>, c: ModelInterface, cfg: TrainerConfig, F: string, T: number): void {
  const w = newWriter();
  writeRandom(w);
  w.blankLine();
  const usesOrthogonal = (i: Init): boolean => i.kind === 'orthogonal' || (i.kind === 'split' && i.parts.some(usesOrthogonal));
  if (c.params.some((p) => usesOrthogonal(p.init))) writeOrthogonal(w), w.blankLine();
  w.write('function describe(v: unknown): string').block(() => {
    w.writeLine("if (v === null || v === undefined) return String(v);");
    w.writeLine("if (ArrayBuffer.isView(v)) return `${v.constructor.name} of ${(v as unknown as { length: number }).length} values`;");
    w.writeLine("return Array.isArray(v) ? `an array of ${v.length} values` : typeof v;");
  });
  w.blankLine();
  w.write('function allFinite(a: ArrayLike<number>): boolean').block(() => {
    w.writeLine('for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;');
    w.writeLine('return true;');
  });
  w.blankLine();
  const checkArray = (label: string, expr: string, kind: 'tokens' | 'dense' | 'class', len: number, shape: readonly number[], bound?: number) => {
    const x = label.replace(/\W/g, '_');
    w.writeLine(`const ${x} = ${expr};`);
    const types = kind === 'dense' ? (cfg.float === 'f32' ? ['Float32Array'] : ['Float32Array', 'Float64Array']) : ['Int32Array'];
    const ok = types.map((t) => `${x} instanceof ${t}`).join(' || ');
    w.writeLine(`if (!(${ok})) throw new TypeError(\`${label} must be a ${types.join(' or ')} of ${len} values [${shape.join(', ')}], got \${describe(${x})}\`);`);
    w.writeLine(`if (${x}.length !== ${len}) throw new RangeError(\`${label} has \${${x}.length} values, expected ${len} [${shape.join(', ')}]\`);`);
    if (bound !== undefined) {
      w.write(`for (let i = 0; i < ${len}; i++)`).block(() => {
        w.writeLine(`const v = ${x}[i];`);
        w.writeLine(`if (!(v >= 0 && v < ${bound})) throw new RangeError(\`${label}[\${i}] = \${v} is out of range [0, ${bound})\`);`);
      });
    }
  };
  const B = c.batch;
  w.write('function checkInputs(inputs: Inputs): void').block(() => {
    w.writeLine("if (typeof inputs !== 'object' || inputs === null) throw new TypeError(`inputs must be an object, got ${describe(inputs)}`);");
    // own keys only: an input called toString is not Object.prototype's, and a key for no input is a mistake
    const names = c.inputs.map((i) => i.name);
    w.write('for (const key in inputs)').block(() => {
      w.writeLine(`if (${names.map((n) => `key !== ${JSON.stringify(n)}`).join(' && ')}) throw new TypeError(\`inputs.\${key} is not an input of this trainer (its inputs: ${names.join(', ')})\`);`);
    });
    c.inputs.forEach((i) => {
      const per = prod(i.shape);
      const shape = i.kind === 'tokens' ? [T, B] : [T, B, ...i.shape];
      checkArray(`inputs.${i.name}`, `Object.hasOwn(inputs, ${JSON.stringify(i.name)}) ? inputs.${i.name} : undefined`, i.kind, T * B * per, shape, i.vocab);
    });
  });
  w.blankLine();
  if (!c.lengths) {
    // `lengths` given to a trainer compiled without them would be ignored, every sequence run all
    // T steps: refused. Other fields of a batch are the caller's bookkeeping, and ignored.
    w.write('function refuseLengths(batch: object): void').block(() => {
      w.writeLine("if ('lengths' in batch) throw new TypeError('batch.lengths: this trainer was compiled without --lengths, so every sequence runs all its steps; compile with --lengths for sequences of different lengths');");
    });
    w.blankLine();
  }
  w.write('function checkBatch(batch: Batch): void').block(() => {
    w.writeLine("if (typeof batch !== 'object' || batch === null) throw new TypeError(`batch must be { inputs, targets }, got ${describe(batch)}`);");
    if (!c.lengths) w.writeLine('refuseLengths(batch);');
    w.writeLine('checkInputs(batch.inputs);');
    const every = c.lossOn === 'every';
    const perStep = c.target.kind === 'class' ? [B] : [B, ...c.target.shape];
    const shape = every ? [T, ...perStep] : perStep;
    const len = shape.reduce((a, b) => a * b, 1);
    // with variable lengths a class target may be -100: no label at that position
    if (c.lengths && c.target.kind === 'class') w.writeLine('checkIgnorableTargets(batch.targets);');
    else checkArray('targets', 'batch.targets', c.target.kind === 'class' ? 'class' : 'dense', len, shape, c.target.classes);
    if (c.lengths) w.writeLine("checkLengths(batch.lengths, 'lengths');");
  });
  w.blankLine();
  if (c.lengths) writeLengthsSupport(w, c, T);
  // lossAndGrad and predict change the state: a non-finite input is refused before it can (step
  // instead rolls back everything when a window's loss or gradient is not finite)
  const dense = c.inputs.filter((i) => i.kind === 'dense');
  w.write(`function checkFinite(inputs: Inputs${c.target.kind === 'dense' ? ', targets?: ArrayLike<number>' : ''}): void`).block(() => {
    for (const i of dense) {
      w.writeLine(`const ${i.name} = inputs.${i.name};`);
      w.writeLine(`for (let k = 0; k < ${i.name}.length; k++) if (!Number.isFinite(${i.name}[k])) throw new RangeError(\`inputs.${i.name}[\${k}] = \${${i.name}[k]} is not finite; nothing changed\`);`);
    }
    if (c.target.kind === 'dense') w.writeLine('if (targets) for (let k = 0; k < targets.length; k++) if (!Number.isFinite(targets[k])) throw new RangeError(`targets[${k}] = ${targets[k]} is not finite; nothing changed`);');
  });
  w.blankLine();
  // one range table for every optimizer setting: createTrainer's options, every later change of
  // trainer.hyper (checked where it is set) and a checkpoint's hyper are all held to it
  const ranges: Record<HyperName, [string, string]> = {
    lr: ['Number.isFinite(x) && x > 0', 'a positive number'],
    momentum: ['x >= 0 && x < 1', 'in [0, 1)'],
    beta1: ['x >= 0 && x < 1', 'in [0, 1)'],
    beta2: ['x >= 0 && x < 1', 'in [0, 1)'],
    eps: ['Number.isFinite(x) && x > 0', 'a positive number'],
    weightDecay: ['Number.isFinite(x) && x >= 0', 'a non-negative number'],
    alpha: ['x >= 0 && x < 1', 'in [0, 1)'],
    clip: ['Number.isFinite(x) && x > 0', 'a positive number or null (no clipping)'],
  };
  w.writeLine(`type HyperName = ${HYPER_NAMES.map((n) => `'${n}'`).join(' | ')};`);
  w.writeLine('/** The range of each optimizer setting: createTrainer\'s options, every later change of trainer.hyper and a checkpoint\'s hyper are held to it. */');
  w.writeLine('const HYPER: Record<HyperName, { ok: (x: number) => boolean; want: string }> = {');
  for (const n of HYPER_NAMES) w.writeLine(`  ${n}: { ok: (x) => ${ranges[n][0]}, want: '${ranges[n][1]}' },`);
  w.writeLine('};');
  w.write('function checkHyper(what: string, name: HyperName, v: unknown): void').block(() => {
    w.writeLine("if (name === 'clip' && v === null) return;");
    w.writeLine('if (!(typeof v === \'number\' && HYPER[name].ok(v))) throw new RangeError(`${what} must be ${HYPER[name].want}, got ${typeof v === \'string\' ? JSON.stringify(v) : String(v)}`);');
  });
  w.blankLine();
  w.writeLine('/** createTrainer\'s options (or a checkpoint\'s hyper), checked whole: a typo or an out-of-range value is an error, not a silent default. */');
  w.write("function checkOptions(options: TrainerOptions, where = 'createTrainer'): void").block(() => {
    w.writeLine("if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);");
    w.writeLine(`const known = [${['seed', ...HYPER_NAMES].map((n) => `'${n}'`).join(', ')}];`);
    w.writeLine("for (const key in options) if (!known.includes(key)) throw new TypeError(`${where}: unknown option '${key}'; the options are ${known.join(', ')}`);");
    w.writeLine("if (options.seed !== undefined && !(typeof options.seed === 'number' && Number.isSafeInteger(options.seed) && options.seed >= 0)) throw new RangeError(`${where}: seed must be a non-negative integer, got ${String(options.seed)}`);");
    w.writeLine('const given = options as Record<string, unknown>;');
    w.writeLine('for (const name of Object.keys(HYPER) as HyperName[]) if (given[name] !== undefined) checkHyper(`${where}: ${name}`, name, given[name]);');
  });
  w.blankLine();
  w.writeLine('/** trainer.hyper: the settings every update reads, each checked when it is set, so a bad value throws where it is written and never reaches an update. */');
  w.write('function checkedHyper<H extends Partial<Record<HyperName, number | null>>>(initial: H): H').block(() => {
    w.writeLine('const values = { ...initial } as Record<HyperName, unknown>;');
    w.writeLine('const hyper = {} as H;');
    w.write('for (const name of Object.keys(initial) as HyperName[])').block(() => {
      w.writeLine('Object.defineProperty(hyper, name, {');
      w.writeLine('  enumerable: true,');
      w.writeLine('  get: () => values[name],');
      w.writeLine('  set: (v: unknown) => { checkHyper(`trainer.hyper.${name}`, name, v); values[name] = v; },');
      w.writeLine('});');
    });
    w.writeLine('// no other keys: a misspelt setting (hyper.learningRate) throws rather than being ignored');
    w.writeLine('return Object.seal(hyper);');
  });
  w.blankLine();
  const names = c.params.map((p) => p.name);
  w.write(`function saveParams(params: Record<string, ${F}>): string`).block(() => {
    w.writeLine(`const out: Record<string, { shape: readonly number[]; data: number[] }> = {};`);
    w.writeLine(`for (const name of ${JSON.stringify(names)}) out[name] = { shape: spec.params[name as keyof typeof spec.params], data: Array.from(params[name]!) };`);
    w.writeLine("return JSON.stringify({ format: 'rnnc-params', version: 1, cell: spec.cell, sizes: spec.sizes, params: out });");
  });
  w.blankLine();
  w.write(`function loadParams(params: Record<string, ${F}>, json: string): void`).block(() => {
    w.writeLine('let doc: { format?: unknown; version?: unknown; cell?: unknown; params?: Record<string, { shape?: unknown; data?: unknown }> };');
    w.writeLine("try { doc = JSON.parse(json); } catch (e) { throw new SyntaxError(`loadParams: not JSON: ${(e as Error).message}`); }");
    w.writeLine("if (typeof doc !== 'object' || doc === null || doc.format !== 'rnnc-params' || typeof doc.params !== 'object' || doc.params === null) throw new TypeError('loadParams: not an rnnc parameter file');");
    w.writeLine("if (doc.cell !== spec.cell) throw new TypeError(`loadParams: parameters of cell '${String(doc.cell)}', this trainer is '${spec.cell}'`);");
    w.writeLine("if (doc.version !== 1) throw new TypeError(`loadParams: format version ${String(doc.version)}, this trainer reads version 1`);");
    w.writeLine('// check everything first: a bad file leaves the trainer as it was');
    w.writeLine(`for (const name in doc.params) if (!${JSON.stringify(names)}.includes(name)) throw new RangeError(\`loadParams: unknown parameter '\${name}'; this trainer has ${names.join(', ')}\`);`);
    w.write(`for (const name of ${JSON.stringify(names)})`).block(() => {
      w.writeLine('const entry = Object.hasOwn(doc.params!, name) ? doc.params![name] : undefined;');
      w.writeLine('const shape = spec.params[name as keyof typeof spec.params] as readonly number[];');
      w.writeLine("if (!entry) throw new RangeError(`loadParams: parameter '${name}' is missing`);");
      w.writeLine("if (!Array.isArray(entry.shape) || entry.shape.join(',') !== shape.join(',')) throw new RangeError(`loadParams: '${name}' has shape [${String(entry.shape)}], expected [${shape.join(', ')}]`);");
      // a float32 trainer stores Math.fround(v): a finite double beyond float32's range would become ±Infinity
      const finite = cfg.float === 'f32' ? 'Number.isFinite(Math.fround(v))' : 'Number.isFinite(v)';
      w.writeLine(`if (!Array.isArray(entry.data) || entry.data.length !== params[name]!.length || !entry.data.every((v) => typeof v === 'number' && ${finite})) throw new RangeError(\`loadParams: '\${name}' needs \${params[name]!.length} finite numbers${cfg.float === 'f32' ? ' (within float32 range)' : ''}\`);`);
    });
    w.writeLine(`for (const name of ${JSON.stringify(names)}) params[name]!.set(doc.params[name]!.data as number[]);`);
  });
  sf.addStatements(w.toString());
}
