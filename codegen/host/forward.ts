/**
 * The forward-only calls of the trainer, written once for every target: `predict` (the logits) and
 * `evaluate` (the loss, no backward pass). Neither touches the training state: each starts from
 * zeros or from a state the caller passes, can hand back the final state, and puts `state` back as
 * it was. Both take any number of sequences from 1 to the compiled batch: fewer are copied into
 * zero-padded arrays of the batch's size (the batch rows of every kernel are independent, so the
 * padding changes no real row), and the loss is averaged over the real sequences only.
 */
import type { CodeBlockWriter } from 'ts-morph';
import type { ModelInterface } from '../../ir/program.ts';
import type { Schedule } from '../schedule/types.ts';
import { writeRun } from './runs.ts';
import type { Target } from './target.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** The module-level checks of fewer sequences than the batch: the same messages as checkInputs, with n in the shapes. */
/** `evaluates`: whether the trainer has evaluate (not with variable lengths or a bidirectional layer yet). */
export function writeForwardChecks(w: CodeBlockWriter, c: ModelInterface, float: 'f32' | 'f64', T: number, evaluates = true): void {
  const B = c.batch;
  const first = c.inputs[0]!, perFirst = prod(first.shape);
  const types = (kind: string) => (kind === 'tokens' || kind === 'class' ? ['Int32Array'] : float === 'f32' ? ['Float32Array'] : ['Float32Array', 'Float64Array']);
  w.writeLine(`/** How many sequences (1 to ${B}) an input holds: predict and evaluate take fewer than the batch. */`);
  w.write('function sequencesOf(inputs: Inputs, where: string): number').block(() => {
    w.writeLine("if (typeof inputs !== 'object' || inputs === null) throw new TypeError(`inputs must be an object, got ${describe(inputs)}`);");
    w.writeLine(`const a: unknown = Object.hasOwn(inputs, ${JSON.stringify(first.name)}) ? inputs.${first.name} : undefined;`);
    w.writeLine(`if (!ArrayBuffer.isView(a)) return ${B}; // checkInputs names what is wrong`);
    w.writeLine('const len = (a as unknown as ArrayLike<number>).length;');
    w.writeLine(`const n = len / ${T * perFirst};`);
    const shape = first.kind === 'tokens' ? `[${T}, n]` : `[${[T, 'n', ...first.shape].join(', ')}]`;
    w.writeLine(`if (!(Number.isInteger(n) && n >= 1 && n <= ${B})) throw new RangeError(\`\${where}: inputs.${first.name} has \${len} values, expected ${T * perFirst}·n for n sequences ${shape}, n from 1 to ${B}\`);`);
    w.writeLine('return n;');
  });
  w.blankLine();
  const checkSome = (label: string, expr: string, kind: string, perSeq: number, shape: string, bound?: number) => {
    const x = `got_${label.replace(/\W/g, '_')}`;
    const ts = types(kind);
    w.writeLine(`const ${x} = ${expr};`);
    w.writeLine(`if (!(${ts.map((t) => `${x} instanceof ${t}`).join(' || ')})) throw new TypeError(\`${label} must be a ${ts.join(' or ')} of \${${perSeq} * n} values ${shape}, got \${describe(${x})}\`);`);
    w.writeLine(`if (${x}.length !== ${perSeq} * n) throw new RangeError(\`${label} has \${${x}.length} values, expected \${${perSeq} * n} ${shape}\`);`);
    if (bound !== undefined) w.writeLine(`for (let i = 0; i < ${x}.length; i++) if (!(${x}[i]! >= 0 && ${x}[i]! < ${bound})) throw new RangeError(\`${label}[\${i}] = \${${x}[i]} is out of range [0, ${bound})\`);`);
  };
  w.writeLine('/** checkInputs for n < B sequences. */');
  w.write('function checkSomeInputs(inputs: Inputs, n: number): void').block(() => {
    const names = c.inputs.map((i) => i.name);
    w.writeLine(`for (const key in inputs) if (${names.map((k) => `key !== ${JSON.stringify(k)}`).join(' && ')}) throw new TypeError(\`inputs.\${key} is not an input of this trainer (its inputs: ${names.join(', ')})\`);`);
    for (const i of c.inputs) {
      const shape = i.kind === 'tokens' ? `[${T}, \${n}]` : `[${[T, '${n}', ...i.shape].join(', ')}]`;
      checkSome(`inputs.${i.name}`, `Object.hasOwn(inputs, ${JSON.stringify(i.name)}) ? inputs.${i.name} : undefined`, i.kind, T * prod(i.shape), shape, i.vocab);
    }
  });
  w.blankLine();
  const every = c.lossOn === 'every';
  const perStep = c.target.kind === 'class' ? 1 : prod(c.target.shape);
  if (!evaluates) return;
  w.writeLine('/** The targets of n < B sequences. */');
  w.write(`function checkSomeTargets(targets: Batch['targets'], n: number): void`).block(() => {
    const shape = `[${[...(every ? [T] : []), '${n}', ...c.target.shape].join(', ')}]`;
    checkSome('targets', 'targets', c.target.kind, (every ? T : 1) * perStep, shape, c.target.classes);
  });
  w.blankLine();
}

/** The module's `ForwardOptions` interface: where predict and evaluate start, and what receives the final state. */
export function forwardOptionsInterface(c: ModelInterface, stateNames: readonly string[], denseT: string, floatT: string, T: number) {
  return { isExported: true, name: 'ForwardOptions', docs: [`Where predict and evaluate start (zeros by default), and an object to receive the final state${c.lengths ? '; predict also takes the lengths' : ''}.`], properties: [
    { name: 'state', type: `Partial<Record<${stateNames.map((k) => JSON.stringify(k)).join(' | ')}, ${denseT}>>`, hasQuestionToken: true, docs: ['The state to start from, per name: [n, ...shape]; a state not given starts at zero.'] },
    { name: 'final', type: `Record<string, ${floatT}>`, hasQuestionToken: true, docs: ['Receives the final state, per name, as fresh arrays [n, ...shape].'] },
    ...(c.lengths ? [{ name: 'lengths', type: 'Int32Array', hasQuestionToken: true, docs: [`predict: each sequence's length [n], 1..${T}; a sequence's state is held from its end on (default: all ${T}).`] }] : []),
  ] };
}

/** A schedule's states, as the forward helpers need them. */
type States = Schedule['states'];

/** Whether the model has evaluate (not with variable lengths or a bidirectional layer yet). */
export const evaluates = (c: ModelInterface, schedule: Schedule) => !c.lengths && schedule.evaluationSequence.length > 0;

/** evaluate's one line where it is not built, before anything is read: nothing changes. */
export const evaluateRefusal = (c: ModelInterface) =>
  `throw new RangeError('evaluate: not built ${c.lengths ? 'with variable lengths (--lengths)' : 'for a model with a bidirectional layer'} yet; lossAndGrad(batch) gives the loss (it fills grads and advances the state)');`;

/** `function padInto`, inside createTrainer: how fewer sequences than the batch are laid into arrays of the batch's size. */
export function writePadInto(w: CodeBlockWriter, B: number): void {
  w.writeLine('/** `steps` blocks of n·per values from src into the first rows of pad\'s blocks of B·per, the other rows zero. */');
  w.write(`function padInto(pad: Int32Array | Float32Array | Float64Array, src: Int32Array | Float32Array | Float64Array, n: number, per: number, steps: number): void`).block(() => {
    w.writeLine('pad.fill(0);');
    w.writeLine(`for (let t = 0; t < steps; t++) for (let j = 0; j < n * per; j++) pad[t * ${B} * per + j] = src[t * n * per + j]!;`);
  });
  w.blankLine();
}

/** `function checkForwardOptions`, inside createTrainer: predict's and evaluate's options, checked before anything runs. */
export function writeCheckForwardOptions(w: CodeBlockWriter, c: ModelInterface, states: States, F: string, T: number): void {
  const B = c.batch;
  const stateNames = states.map((s) => s.name);
  const floatTypes = F === 'Float32Array' ? ['Float32Array'] : ['Float64Array', 'Float32Array'];
  w.writeLine(`/** Checks predict's and evaluate's options before anything runs: a state must have n rows of finite values. */`);
  w.write(`function checkForwardOptions(options: ForwardOptions | undefined, n: number, where: string): void`).block(() => {
    w.writeLine('if (options === undefined) return;');
    w.writeLine("if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be { state?, final? }, got ${describe(options)}`);");
    const keys = ['state', 'final', ...(c.lengths ? ['lengths'] : [])];
    w.writeLine(`for (const key in options) if (${keys.map((k) => `key !== '${k}'`).join(' && ')}) throw new TypeError(\`\${where}: unknown option '\${key}'; the options are ${keys.join(', ')}\`);`);
    if (c.lengths) {
      // lengths [n], one per sequence given (the padding rows run all T steps: they change no real row)
      w.writeLine('const lengths: unknown = options.lengths;');
      w.write('if (lengths !== undefined)').block(() => {
        w.writeLine(`if (!(lengths instanceof Int32Array)) throw new TypeError(\`\${where}: options.lengths must be an Int32Array of \${n} values [\${n}] (one length per sequence), got \${describe(lengths)}\`);`);
        w.writeLine(`if (lengths.length !== n) throw new RangeError(\`\${where}: options.lengths has \${lengths.length} values, expected \${n} [\${n}] (one length per sequence)\`);`);
        w.writeLine(`for (let b = 0; b < n; b++) if (!(lengths[b]! >= 1 && lengths[b]! <= ${T})) throw new RangeError(\`\${where}: options.lengths[\${b}] = \${lengths[b]} is out of range: a length is 1..${T}\`);`);
      });
    }
    w.writeLine("if (options.final !== undefined && (typeof options.final !== 'object' || options.final === null)) throw new TypeError(`${where}: options.final must be an object to receive the final state, got ${describe(options.final)}`);");
    w.writeLine('const given = options.state;');
    w.writeLine('if (given === undefined) return;');
    w.writeLine("if (typeof given !== 'object' || given === null) throw new TypeError(`${where}: options.state must be an object of states by name, got ${describe(given)}`);");
    w.writeLine(`for (const key in given) if (${stateNames.map((s) => `key !== ${JSON.stringify(s)}`).join(' && ')}) throw new TypeError(\`\${where}: options.state.\${key} is not a state of this trainer (its states: ${stateNames.join(', ')})\`);`);
    for (const s of states) {
      const per = s.size / B, shape = `[\${n}, ${s.shape.slice(1).join(', ')}]`;
      w.write(`if (Object.hasOwn(given, ${JSON.stringify(s.name)}))`).block(() => {
        w.writeLine(`const v: unknown = given.${s.name};`);
        w.writeLine(`if (!(${floatTypes.map((t) => `v instanceof ${t}`).join(' || ')})) throw new TypeError(\`\${where}: options.state.${s.name} must be a ${floatTypes.join(' or ')} of \${n * ${per}} values ${shape}, got \${describe(v)}\`);`);
        w.writeLine(`if (v.length !== n * ${per}) throw new RangeError(\`\${where}: options.state.${s.name} has \${v.length} values, expected \${n * ${per}} ${shape}\`);`);
        w.writeLine(`if (!allFinite(v)) throw new RangeError(\`\${where}: options.state.${s.name} has a non-finite value\`);`);
      });
    }
  });
  w.blankLine();
}

/** `function startState` (into the array `into`: the state, or the host's copy a GPU host uploads) and `function finalState` (from the array `from`). */
export function writeStartAndFinalState(w: CodeBlockWriter, states: States, B: number, into: string, from: { name: string; type: string } | null): void {
  w.writeLine('/** The state a forward call starts from: zeros, or the rows the caller gave. */');
  w.write('function startState(options: ForwardOptions | undefined): void').block(() => {
    w.writeLine(`${into}.fill(0);`);
    w.writeLine('const given = options?.state;');
    w.writeLine('if (given === undefined) return;');
    for (const s of states) w.writeLine(`if (given.${s.name} !== undefined) ${into}.set(given.${s.name}, ${s.offset});`);
  });
  w.blankLine();
  const source = from?.name ?? 'S';
  w.write(`function finalState(options: ForwardOptions | undefined, n: number${from ? `, ${from.name}: ${from.type}` : ''}): void`).block(() => {
    w.writeLine('const final = options?.final;');
    w.writeLine('if (final === undefined) return;');
    for (const s of states) w.writeLine(`final.${s.name} = ${source}.slice(${s.offset}, ${s.offset} + n * ${s.size / B});`);
  });
  w.blankLine();
}

/** predict's checks, first in its body: n, the inputs, `out`, the options; `n` and `result` (the array to fill) after it. */
export function writePredictChecks(w: CodeBlockWriter, c: ModelInterface, F: string, T: number, Y: number): void {
  const B = c.batch, nY = `n * ${Y}`;
  w.writeLine("const n = sequencesOf(inputs, 'predict');");
  w.writeLine(`if (n === ${B}) checkInputs(inputs); else checkSomeInputs(inputs, n);`);
  w.writeLine('checkFinite(inputs);');
  // checked before the forward pass: a bad `out` changes nothing
  w.write('if (out !== undefined)').block(() => {
    w.writeLine(`if (!(out instanceof ${F})) throw new TypeError(\`predict: out must be a ${F} of \${${T} * ${nY}} values [${T}, \${n}, ${Y}], got \${describe(out)}\`);`);
    w.writeLine(`if (out.length !== ${T} * ${nY}) throw new RangeError(\`predict: out has \${out.length} values, expected \${${T} * ${nY}} [${T}, \${n}, ${Y}]\`);`);
  });
  w.writeLine("checkForwardOptions(options, n, 'predict');");
  w.writeLine('let result = out;');
  w.writeLine(`if (result === undefined) result = new ${F}(${T} * ${nY});`);
}

/** evaluate's checks, first in its body: the batch, n, the options; `n` after it. */
export function writeEvaluateChecks(w: CodeBlockWriter, c: ModelInterface): void {
  w.writeLine("if (typeof batch !== 'object' || batch === null) throw new TypeError(`batch must be { inputs, targets }, got ${describe(batch)}`);");
  w.writeLine("const n = sequencesOf(batch.inputs, 'evaluate');");
  w.writeLine(`if (n === ${c.batch}) checkBatch(batch); else { ${c.lengths ? '' : 'refuseLengths(batch); '}checkSomeInputs(batch.inputs, n); checkSomeTargets(batch.targets, n); }`);
  w.writeLine(`checkFinite(batch.inputs${c.target.kind === 'dense' ? ', batch.targets' : ''});`);
  w.writeLine("checkForwardOptions(options, n, 'evaluate');");
}

/** Statements giving `to` the targets of n sequences, padded to the batch (in `pad_target`) when n is less. */
export function writeBindTargets(w: CodeBlockWriter, c: ModelInterface, F: string, T: number, to: string): void {
  const B = c.batch, every = c.lossOn === 'every';
  const perTarget = c.target.kind === 'class' ? 1 : prod(c.target.shape);
  w.write(`if (n === ${B}) ${to} = batch.targets;`).newLine();
  w.write('else').block(() => {
    w.writeLine(`pad_target ??= new ${c.target.kind === 'class' ? 'Int32Array' : F}(${(every ? T : 1) * B * perTarget});`);
    w.writeLine(`padInto(pad_target, batch.targets, n, ${perTarget}, ${every ? T : 1});`);
    w.writeLine(`${to} = pad_target;`);
  });
}

/** The `let pad_<name>` arrays fewer sequences are padded into (made on first use). */
export function writePadArrays(w: CodeBlockWriter, c: ModelInterface, F: string, withTarget: boolean): void {
  c.inputs.forEach((i) => w.writeLine(`let pad_${i.name}: ${i.kind === 'tokens' ? 'Int32Array' : F} | null = null;`));
  if (withTarget) w.writeLine(`let pad_target: ${c.target.kind === 'class' ? 'Int32Array' : F} | null = null;`);
}

/** Statements giving `to(name)` each input of n sequences, padded to the batch when n is less. */
export function writeBindInputs(w: CodeBlockWriter, c: ModelInterface, F: string, T: number, inputs: string, to: (name: string) => string): void {
  const B = c.batch;
  for (const i of c.inputs) {
    const per = prod(i.shape), ctor = i.kind === 'tokens' ? 'Int32Array' : F;
    w.write(`if (n === ${B}) ${to(i.name)} = ${inputs}.${i.name};`).newLine();
    w.write('else').block(() => {
      w.writeLine(`pad_${i.name} ??= new ${ctor}(${T * B * per});`);
      w.writeLine(`padInto(pad_${i.name}, ${inputs}.${i.name}, n, ${per}, ${T});`);
      w.writeLine(`${to(i.name)} = pad_${i.name};`);
    });
  }
}

export interface ForwardContext {
  readonly c: ModelInterface;
  readonly schedule: Schedule;
  readonly target: Target;
  readonly F: string;
  readonly T: number;
  readonly Y: number;
  readonly totalPositions: number;
  /** The longest inference chunk. */
  readonly chunk: number;
  readonly nS: number;
}

/** predict and evaluate, inside createTrainer. */
export function writeForward(w: CodeBlockWriter, x: ForwardContext): void {
  const { c, schedule, target, F, T, Y } = x;
  const B = c.batch;
  const liveOut = (fn: string) => schedule.functions.find((f) => f.name === fn)!.liveOut[0]!;
  const states = schedule.states;

  w.writeLine('// predict and evaluate: the training state is kept here and put back; fewer sequences than the batch are padded');
  const hasEvaluate = evaluates(c, schedule);
  w.writeLine(`const held = new ${F}(${x.nS}), staging = new ${F}(${x.chunk * B * Y})${hasEvaluate ? `, lossRows = new ${F}(${B})` : ''};`);
  writePadArrays(w, c, F, hasEvaluate);
  if (c.lengths) w.writeLine(`const padLengths = new Int32Array(${B});`);
  w.blankLine();
  writePadInto(w, B);
  w.write('function bindForward(inputs: Inputs, n: number): void').block(() => writeBindInputs(w, c, F, T, 'inputs', (name) => `in_${name}`));
  w.blankLine();
  writeCheckForwardOptions(w, c, states, F, T);
  writeStartAndFinalState(w, states, B, 'S', null);

  // ---- predict ----
  const nY = `n * ${Y}`;
  w.writeLine(`/** Logits [${T}, n, ${Y}] of n ≤ ${B} sequences, from zeros or options.state; the training state is left as it was. */`);
  w.write(`function predict(inputs: Inputs, out?: ${F}, options?: ForwardOptions): ${F}`).block(() => {
    writePredictChecks(w, c, F, T, Y);
    w.writeLine('bindForward(inputs, n);');
    if (c.lengths) {
      w.write('if (options?.lengths === undefined) fillLengths(undefined, null);').newLine();
      w.write('else').block(() => {
        w.writeLine(`padLengths.fill(${T});`);
        w.writeLine('padLengths.set(options.lengths);');
        w.writeLine('fillLengths(padLengths, null);');
      });
    }
    target.afterBind?.(w); // (the wasm target copies the bound inputs into its memory)
    w.writeLine('held.set(S);');
    w.write('try').block(() => {
      w.writeLine('startState(options);');
      for (const r of schedule.inferenceSequence) {
        writeRun(w, r, (start) => {
          w.writeLine(`${r.fn}(${start});`);
          target.copyOut(w, liveOut(r.fn), 'staging', '0', r.len * B * Y);
          w.writeLine(`for (let t = 0; t < ${r.len}; t++) for (let j = 0; j < ${nY}; j++) result[(${start} + t) * ${nY} + j] = staging[t * ${B * Y} + j];`);
        }, true);
      }
      w.writeLine('finalState(options, n);');
    }).write(' finally ').block(() => w.writeLine('S.set(held);'));
    w.writeLine('return result;');
  });
  w.blankLine();

  // ---- evaluate ----
  const perSeq = c.lossElements / B;
  w.writeLine(`/** The mean loss over n ≤ ${B} sequences, forward only, from zeros or options.state; the training state is left as it was. */`);
  w.write('function evaluate(batch: Batch, options?: ForwardOptions): number').block(() => {
    if (!hasEvaluate) return void w.writeLine(evaluateRefusal(c));
    writeEvaluateChecks(w, c);
    w.writeLine('bindForward(batch.inputs, n);');
    writeBindTargets(w, c, F, T, 'in_target');
    target.afterBind?.(w);
    w.writeLine('held.set(S);');
    w.writeLine('let total = 0;');
    w.write('try').block(() => {
      w.writeLine('startState(options);');
      const hasLoss = new Map(schedule.functions.map((f) => [f.name, f.liveOut.length > 0]));
      for (const r of schedule.evaluationSequence) {
        writeRun(w, r, (start) => {
          w.writeLine(`${r.fn}(${start});`);
          if (!hasLoss.get(r.fn)) return;
          target.copyOut(w, liveOut(r.fn), 'lossRows', '0', B);
          w.writeLine('for (let r = 0; r < n; r++) total += lossRows[r]!;');
        }, true);
      }
      w.writeLine('finalState(options, n);');
    }).write(' finally ').block(() => w.writeLine('S.set(held);'));
    w.writeLine(`return total / (${x.totalPositions * perSeq} * n);`);
  });
}
