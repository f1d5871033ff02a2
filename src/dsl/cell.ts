/** `cell(...)`: how a person declares a recurrent cell. Tracing it with bound sizes gives IR graphs. */
import * as b from '../../ir/build.ts';
import { fmtShape, RnncError, type Site } from '../../ir/error.ts';
import type { Node } from '../../ir/node.ts';
import { init as initHelpers, type Init } from './init.ts';
import type { LayerSpec } from './layers.ts';
import { callerSite } from './site.ts';
import { describe, isPlainObject, Tensor } from './tensor.ts';

export type SizeDecl = Record<string, number | null>;
export type Sizes<S extends SizeDecl> = { readonly [K in keyof S]: number };

export interface StepContext {
  /** A dense per-step input of the given per-example shape. */
  input(name: string, shape: readonly number[]): Tensor;
  /** A per-step integer token input with ids in [0, vocab). */
  tokens(name: string, vocab: number): Tensor;
  /** A recurrent state, carried from step to step; the step must return its next value. */
  state(name: string, shape: readonly number[]): Tensor;
  /** A trained parameter (shared by every step). Default init: U(±1/sqrt(last dim)). */
  param(name: string, shape: readonly number[], init?: Init): Tensor;
}

export interface StepResult {
  readonly next: Readonly<Record<string, Tensor>>;
  readonly output: Tensor;
}

export type ReadoutFn = (sizes: Readonly<Record<string, number>>, ctx: Pick<StepContext, 'param'>, output: Tensor) => Tensor;

export interface CellOptions {
  /** 'linear' (default): `out_weight [Y, H] · o + out_bias [Y]`, PyTorch's nn.Linear; or a function. */
  readonly readout?: 'linear' | ReadoutFn;
  /** Softmax cross-entropy against class ids (default) or mean squared error against dense targets. */
  readonly loss?: 'ce' | 'mse';
  /** A loss at every step (tagging; default) or on the last step only (classification). */
  readonly lossOn?: 'every' | 'last';
}

export interface CellDef {
  readonly kind: 'rnnc-cell';
  readonly name: string;
  readonly sizes: SizeDecl;
  readonly step: (sizes: Readonly<Record<string, number>>, ctx: StepContext) => StepResult;
  readonly options: CellOptions;
  readonly site: Site | undefined;
  /** A composition of cells (src/dsl/layers.ts: stack, bidirectional): its layers, bottom first. */
  readonly layers?: readonly LayerSpec[];
}

export function cell<S extends SizeDecl>(name: string, sizes: S, step: (sizes: Sizes<S>, ctx: StepContext) => StepResult, options: CellOptions = {}): CellDef {
  const site = callerSite();
  checkCellArgs(name, sizes, step, options, site);
  return { kind: 'rnnc-cell', name, sizes, step: step as CellDef['step'], options, site };
}

/**
 * The one identifier refused as a name: in a JavaScript object literal `__proto__: v` sets the
 * object's prototype instead of a key, so `params.__proto__` and `spec.params` would lose it. Every
 * other name (`toString`, `constructor`...) is an ordinary own key of the records a trainer exports.
 */
const PROTO = '__proto__';
const PROTO_WHY = "'__proto__' is the prototype of a JavaScript object, not a key of it";

/** A size's name, as `--size NAME=N` can bind it. */
const SIZE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Each option: which values it takes, and how an error message says so. */
const OPTIONS: { readonly [K in keyof Required<CellOptions>]: { readonly ok: (v: unknown) => boolean; readonly expects: string } } = {
  readout: { ok: (v) => v === 'linear' || typeof v === 'function', expects: "'linear' or a function (sizes, { param }, output) => logits" },
  loss: { ok: (v) => v === 'ce' || v === 'mse', expects: "'ce' or 'mse'" },
  lossOn: { ok: (v) => v === 'every' || v === 'last', expects: "'every' or 'last'" },
};

/** `cell(...)`'s arguments, checked where the cell is defined: a cell file may be plain JavaScript. */
function checkCellArgs(name: unknown, sizes: unknown, step: unknown, options: unknown, site: Site | undefined): void {
  // the name lands in titles and in the generated module (as an escaped string): one printable line;
  // U+2028 and U+2029 end a line in JavaScript as \n does
  if (typeof name !== 'string' || name.trim() === '' || /[\u0000-\u001f\u007f\u2028\u2029]/.test(name)) {
    throw new RnncError(`cell: the name must be a non-empty string on one line, got ${describe(name)}`, site);
  }
  const what = `cell '${name}'`;
  if (!isPlainObject(sizes)) throw new RnncError(`${what}: sizes must be an object such as { X: 16, H: null } (null: bound when compiling), got ${describe(sizes)}`, site);
  for (const [k, v] of Object.entries(sizes)) {
    if (!SIZE_NAME.test(k) || k === PROTO) throw new RnncError(`${what}: bad size name ${JSON.stringify(k)}: use letters, digits and _${k === PROTO ? ` (${PROTO_WHY})` : ''}`, site);
    if (v !== null) checkSize(k, v, site);
  }
  if (typeof step !== 'function') throw new RnncError(`${what}: the step must be a function (sizes, { input, tokens, state, param }) => { next, output }, got ${describe(step)}`, site);
  if (!isPlainObject(options)) throw new RnncError(`${what}: options must be an object { readout?, loss?, lossOn? }, got ${describe(options)}`, site);
  for (const [k, v] of Object.entries(options)) {
    if (!Object.hasOwn(OPTIONS, k)) throw new RnncError(`${what}: unknown option '${k}': the options are ${Object.keys(OPTIONS).join(', ')}`, site);
    const { ok, expects } = OPTIONS[k as keyof CellOptions];
    if (v !== undefined && !ok(v)) throw new RnncError(`${what}: option '${k}' must be ${expects}, got ${describe(v)}`, site);
  }
}

function checkSize(name: string, value: unknown, site: Site | undefined): number {
  // a safe integer: 2^53 + 1 would silently be read as 2^53 (what a trainer can allocate is checked when it is compiled)
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RnncError(`size '${name}' must be a positive integer, got ${typeof value === 'number' ? value : describe(value)}`, site);
  }
  if (!Number.isSafeInteger(value)) throw new RnncError(`size '${name}' must be a positive integer below 2^53, got ${value}`, site);
  return value;
}

/** What `cell(...)` returns, checked structurally: a file could export a look-alike. */
export function isCellDef(x: unknown): x is CellDef {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<Record<keyof CellDef, unknown>>;
  return d.kind === 'rnnc-cell' && typeof d.name === 'string' && isPlainObject(d.sizes) && typeof d.step === 'function' && isPlainObject(d.options);
}

/** Check the size bindings: every size known, bound, a positive integer. */
export function bindSizes(def: CellDef, overrides: Readonly<Record<string, number>> = {}): Record<string, number> {
  const bound: Record<string, number> = {};
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(def.sizes, k)) throw new RnncError(`unknown size '${k}': cell '${def.name}' declares ${Object.keys(def.sizes).join(', ') || 'no sizes'}`, def.site);
    bound[k] = v;
  }
  for (const [k, v] of Object.entries(def.sizes)) {
    const value = Object.hasOwn(bound, k) ? bound[k] : v; // own keys only: a size may be called constructor
    if (value === null || value === undefined) throw new RnncError(`size '${k}' is not bound: give it a value (--size ${k}=N)`, def.site);
    bound[k] = checkSize(k, value, def.site);
  }
  return bound;
}

export interface ParamInfo { readonly name: string; readonly shape: readonly number[]; readonly init: Init; readonly site: Site | undefined; readonly node: Node }
export interface StateInfo { readonly name: string; readonly shape: readonly number[]; readonly site: Site | undefined; readonly node: Node }
export interface InputInfo { readonly name: string; readonly kind: 'dense' | 'tokens'; readonly shape: readonly number[]; readonly vocab?: number; readonly site: Site | undefined; readonly node: Node }

/**
 * Names rnnc gives values of its own next to the cell's (the step's output, the readout's target,
 * the losses, the logits): graphs key inputs and outputs by name, so a state called 'output'
 * would silently lose its next value.
 */
const RESERVED: readonly string[] = ['output', 'target', 'loss', 'loss_sum', 'logits'];

/** A name registry shared by inputs, states and parameters: each name once, none reserved. */
export class Names {
  private readonly seen = new Map<string, Site | undefined>();
  claim(name: string, site: Site | undefined): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RnncError(`bad name ${JSON.stringify(name)}: use letters, digits and _`, site);
    if (RESERVED.includes(name)) throw new RnncError(`name '${name}' is reserved: rnnc uses ${RESERVED.map((r) => `'${r}'`).join(', ')} for values of its own`, site);
    if (name === PROTO) throw new RnncError(`bad name '${name}': ${PROTO_WHY}`, site);
    // the gradient of a parameter W is the output grad_W beside the cell's own values
    const clash = name.startsWith('grad_') && this.seen.has(name.slice(5)) ? name.slice(5) : this.seen.has(`grad_${name}`) ? name : null;
    if (clash !== null) throw new RnncError(`name '${name}' clashes with 'grad_${clash}', the name rnnc gives the gradient of '${clash}': rename one of them`, site);
    if (this.seen.has(name)) {
      const first = this.seen.get(name);
      throw new RnncError(`duplicate name '${name}'${first ? ` (first declared at ${first.file}:${first.line})` : ''}`, site);
    }
    this.seen.set(name, site);
  }
}

/** Sizes as seen by the step: reading an undeclared size is an error at that line. */
export function sizeProxy(def: CellDef, bound: Record<string, number>): Readonly<Record<string, number>> {
  return new Proxy(bound, {
    get(target, key) {
      if (typeof key !== 'string' || key in target) return Reflect.get(target, key);
      throw new RnncError(`unknown size '${key}': cell '${def.name}' declares ${Object.keys(target).join(', ')}`, callerSite() ?? def.site);
    },
  });
}

export function checkShape(what: string, shape: readonly number[], site: Site | undefined): number[] {
  if (!Array.isArray(shape)) throw new RnncError(`${what}: the shape must be an array of sizes such as [H, X], got ${describe(shape)}`, site);
  const bad = shape.findIndex((d) => !Number.isInteger(d) || d <= 0);
  if (bad >= 0) {
    const d: unknown = shape[bad];
    throw new RnncError(`${what}: shape ${fmtShape(shape)} must be positive integers (dimension ${bad} is ${typeof d === 'number' ? d : describe(d)})`, site);
  }
  return [...shape];
}

/** The numbers each init scheme needs. */
const INITS: Readonly<Record<Init['kind'], readonly string[]>> = { zeros: [], uniform: ['bound'], normal: ['std'], xavier: [], orthogonal: ['gain'], identity: ['scale'], constant: ['value'], split: [] };

/** The init schemes that work on a matrix's rows and columns. */
const MATRIX_INITS: ReadonlySet<Init['kind']> = new Set(['xavier', 'orthogonal', 'identity']);

function checkInit(what: string, value: unknown, shape: readonly number[], site: Site | undefined): Init {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !Object.hasOwn(INITS, kind)) {
    throw new RnncError(`${what}: init must be one of ${Object.keys(initHelpers).map((k) => `init.${k}()`).join(', ')}, got ${describe(value)}`, site);
  }
  for (const f of INITS[kind as Init['kind']]) {
    const v = (value as Record<string, unknown>)[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RnncError(`${what}: init '${kind}' needs a finite ${f}, got ${describe(v)}`, site);
  }
  if (MATRIX_INITS.has(kind as Init['kind']) && shape.length !== 2) throw new RnncError(`${what} ${fmtShape(shape)}: init '${kind}' is for a matrix [rows, cols]`, site);
  if (kind === 'split') {
    const parts: unknown = (value as { parts?: unknown }).parts;
    if (!Array.isArray(parts) || parts.length === 0) throw new RnncError(`${what}: init.split needs a non-empty array of inits, got ${describe(parts)}`, site);
    if (shape[0]! % parts.length !== 0) throw new RnncError(`${what} ${fmtShape(shape)}: init.split into ${parts.length} parts needs a first dimension divisible by ${parts.length}`, site);
    const partShape = [shape[0]! / parts.length, ...shape.slice(1)];
    return { kind: 'split', parts: parts.map((p, i) => checkInit(`${what} (part ${i} of init.split)`, p, partShape, site)) };
  }
  return value as Init;
}

/** The step context for one trace: records what the step declares. */
export function stepContext(
  batch: number,
  names: Names,
  out: { params: ParamInfo[]; states: StateInfo[]; inputs: InputInfo[] },
  embed: Readonly<Record<string, number>> = {},
): StepContext {
  const ctx: StepContext = {
    input(name, shape) {
      const site = callerSite();
      const s = checkShape(`input '${name}'`, shape, site);
      // an own key only: an input called valueOf is not Object.prototype's
      const vocab = Object.hasOwn(embed, name) ? embed[name] : undefined;
      if (vocab !== undefined) {
        // compile-time option: feed this input from token ids through an embedding table, as
        // nn.Embedding in front of nn.RNN/LSTM/GRU does
        if (s.length !== 1) throw new RnncError(`--embed ${name}=${vocab}: input '${name}' is ${fmtShape(s)}; only a vector input can be embedded`, site);
        const table = ctx.param('embedding', [vocab, s[0]!], { kind: 'normal', std: 1 });
        return table.lookup(ctx.tokens(name, vocab));
      }
      names.claim(name, site);
      const node = b.arg(name, 'f32', [batch, ...s], 'input');
      out.inputs.push({ name, kind: 'dense', shape: s, site, node });
      return new Tensor(node, true, site);
    },
    tokens(name, vocab) {
      const site = callerSite();
      names.claim(name, site);
      if (!Number.isInteger(vocab) || vocab <= 0) throw new RnncError(`tokens '${name}': vocabulary size ${vocab} must be a positive integer`, site);
      const node = b.arg(name, 'i32', [batch], 'input');
      out.inputs.push({ name, kind: 'tokens', shape: [], vocab, site, node });
      return new Tensor(node, true, site, vocab);
    },
    state(name, shape) {
      const site = callerSite();
      names.claim(name, site);
      const s = checkShape(`state '${name}'`, shape, site);
      const node = b.arg(name, 'f32', [batch, ...s], 'state');
      out.states.push({ name, shape: s, site, node });
      return new Tensor(node, true, site);
    },
    param(name, shape, init) {
      const site = callerSite();
      names.claim(name, site);
      const s = checkShape(`param '${name}'`, shape, site);
      const node = b.arg(name, 'f32', s, 'param');
      // default U(±1/sqrt(fan-in)), fan-in the last dimension (1 for a scalar: U(±1))
      const how = init === undefined ? { kind: 'uniform' as const, bound: 1 / Math.sqrt(s[s.length - 1] ?? 1) } : checkInit(`param '${name}'`, init, s, site);
      out.params.push({ name, shape: s, init: how, site, node });
      return new Tensor(node, false, site);
    },
  };
  return ctx;
}
