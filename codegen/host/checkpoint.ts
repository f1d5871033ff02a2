/**
 * Checkpoints, written once for every host (the TS and wasm targets' codegen/host/trainer.ts and
 * the WebGPU target's codegen/wgsl/host.ts): everything a run needs to resume exactly — the
 * parameters, the optimizer's moments and step count, the recurrent state and the settings in
 * `hyper` — with the spec they belong to. The text and its checks are module-level functions over
 * flat arrays, so a host that keeps its arrays elsewhere (on a GPU) reads them back, calls the same
 * functions, and writes the result: one format, and a checkpoint of one target loads in another.
 * `readCheckpoint` checks the whole file (its format, that it was made for the same cell, sizes,
 * batch, float type, parameters, states and optimizer, and every array's shape, length and values)
 * before the host writes anything: a bad file changes nothing.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { optimizerMoments, type OptimizerKind } from '../../ir/program.ts';
import { HYPER_NAMES } from './support.ts';

/** The spec fields a checkpoint must share with the trainer that loads it (truncation, seq, the defaults and the backend may differ). */
const MUST_MATCH = ['cell', 'sizes', 'batch', 'float', 'params', 'state'] as const;

export interface CheckpointContext {
  readonly float: 'f32' | 'f64';
  /** The module's float array type. */
  readonly F: string;
  readonly kind: OptimizerKind;
  readonly params: readonly { readonly name: string; readonly offset: number; readonly size: number }[];
  readonly states: readonly { readonly name: string; readonly offset: number; readonly size: number }[];
  readonly nP: number;
  readonly nS: number;
}

/** Module level: checkpointBlock, checkpointJson (the text) and readCheckpoint (the checked document). */
export function writeCheckpointSupport(w: CodeBlockWriter, x: CheckpointContext): void {
  const { F } = x;
  const has = optimizerMoments(x.kind);
  const finite = x.float === 'f32' ? 'Number.isFinite(Math.fround(v))' : 'Number.isFinite(v)';
  w.writeLine('/** The values of one array of a checkpoint, checked: its shape (when it has one), its length, every value finite. */');
  w.write('function checkpointBlock(what: string, entry: unknown, shape: readonly number[] | null, size: number): number[]').block(() => {
    w.writeLine("if (typeof entry !== 'object' || entry === null) throw new RangeError(`loadCheckpoint: ${what} is missing; nothing changed`);");
    w.writeLine('const e = entry as { shape?: unknown; data?: unknown };');
    w.writeLine("if (shape !== null && (!Array.isArray(e.shape) || e.shape.join(',') !== shape.join(','))) throw new RangeError(`loadCheckpoint: ${what} has shape [${String(e.shape)}], expected [${shape.join(', ')}]; nothing changed`);");
    w.writeLine(`if (!Array.isArray(e.data) || e.data.length !== size || !e.data.every((v) => typeof v === 'number' && ${finite})) throw new RangeError(\`loadCheckpoint: \${what} needs \${size} finite numbers${x.float === 'f32' ? ' (within float32 range)' : ''}; nothing changed\`);`);
    w.writeLine('return e.data as number[];');
  });
  w.blankLine();

  const block = (buf: string, s: { offset: number; size: number }, shape: string) => `{ shape: ${shape}, data: Array.from(${buf}.subarray(${s.offset}, ${s.offset + s.size})) }`;
  w.writeLine('/** A checkpoint as JSON, from the flat parameters P, state S, moments M and V (as saveCheckpoint holds them), the step count and hyper. */');
  w.write(`function checkpointJson(P: ${F}, S: ${F}, M: ${F}, V: ${F}, step: number, hyper: Hyper): string`).block(() => {
    w.writeLine(`const params = { ${x.params.map((p) => `${JSON.stringify(p.name)}: ${block('P', p, `spec.params[${JSON.stringify(p.name)}]`)}`).join(', ')} };`);
    w.writeLine(`const state = { ${x.states.map((s) => `${JSON.stringify(s.name)}: ${block('S', s, `spec.state[${JSON.stringify(s.name)}]`)}`).join(', ')} };`);
    w.writeLine(`const optimizer = { kind: spec.optimizer.kind, step, m: ${has.m ? '{ data: Array.from(M) }' : 'null'}, v: ${has.v ? '{ data: Array.from(V) }' : 'null'} };`);
    w.writeLine("return JSON.stringify({ format: 'rnnc-checkpoint', version: 1, spec, params, state, optimizer, hyper });");
  });
  w.blankLine();

  w.writeLine('/** A checkpoint read and checked whole: a mismatched or corrupt file throws, and the caller has changed nothing yet. */');
  w.write(`function readCheckpoint(json: string): { P: ${F}; S: ${F}; M: ${F} | null; V: ${F} | null; step: number; hyper: Partial<Hyper> }`).block(() => {
    w.writeLine('let doc: { format?: unknown; version?: unknown; spec?: Record<string, unknown>; params?: Record<string, unknown>; state?: Record<string, unknown>; optimizer?: { kind?: unknown; step?: unknown; m?: unknown; v?: unknown }; hyper?: unknown };');
    w.writeLine("try { doc = JSON.parse(json); } catch (e) { throw new SyntaxError(`loadCheckpoint: not JSON: ${(e as Error).message}; nothing changed`); }");
    w.writeLine("if (typeof doc !== 'object' || doc === null || doc.format !== 'rnnc-checkpoint') throw new TypeError('loadCheckpoint: not an rnnc checkpoint (saveParams files load with loadParams); nothing changed');");
    w.writeLine("if (doc.version !== 1) throw new TypeError(`loadCheckpoint: format version ${String(doc.version)}, this trainer reads version 1; nothing changed`);");
    w.writeLine("if (typeof doc.spec !== 'object' || doc.spec === null) throw new TypeError('loadCheckpoint: the checkpoint has no spec; nothing changed');");
    w.writeLine('const mine = spec as unknown as Record<string, unknown>;');
    w.writeLine(`for (const field of ${JSON.stringify(MUST_MATCH)}) if (JSON.stringify(doc.spec[field]) !== JSON.stringify(mine[field])) throw new TypeError(\`loadCheckpoint: made for \${field} \${JSON.stringify(doc.spec[field])}, this trainer has \${JSON.stringify(mine[field])}; nothing changed\`);`);
    w.writeLine('const opt = doc.optimizer;');
    w.writeLine("if (typeof opt !== 'object' || opt === null || opt.kind !== spec.optimizer.kind) throw new TypeError(`loadCheckpoint: made for optimizer ${String(opt?.kind)}, this trainer's is ${spec.optimizer.kind}; nothing changed`);");
    w.writeLine("if (!(typeof opt.step === 'number' && Number.isSafeInteger(opt.step) && opt.step >= 0)) throw new RangeError(`loadCheckpoint: the optimizer's step count ${String(opt.step)} is not a non-negative integer; nothing changed`);");
    w.writeLine("checkOptions(doc.hyper as TrainerOptions, 'loadCheckpoint: hyper');");
    w.writeLine("if (typeof doc.params !== 'object' || doc.params === null || typeof doc.state !== 'object' || doc.state === null) throw new TypeError('loadCheckpoint: the checkpoint has no params or no state; nothing changed');");
    const own = (obj: string, name: string) => `Object.hasOwn(${obj}, ${JSON.stringify(name)}) ? ${obj}[${JSON.stringify(name)}] : undefined`;
    w.writeLine(`const P = new ${F}(${x.nP}), S = new ${F}(${x.nS});`);
    for (const p of x.params) w.writeLine(`P.set(checkpointBlock(${JSON.stringify(`parameter '${p.name}'`)}, ${own('doc.params', p.name)}, spec.params[${JSON.stringify(p.name)}], ${p.size}), ${p.offset});`);
    for (const s of x.states) w.writeLine(`S.set(checkpointBlock(${JSON.stringify(`state '${s.name}'`)}, ${own('doc.state', s.name)}, spec.state[${JSON.stringify(s.name)}], ${s.size}), ${s.offset});`);
    const moment = (key: 'm' | 'v', on: boolean) => (on ? `${F}.from(checkpointBlock("the optimizer's ${key}", opt.${key}, null, ${x.nP}))` : 'null');
    w.writeLine(`return { P, S, M: ${moment('m', has.m)}, V: ${moment('v', has.v)}, step: opt.step, hyper: doc.hyper as Partial<Hyper> };`);
  });
  w.blankLine();
  w.writeLine("/** A checkpoint's settings into trainer.hyper (each already checked by readCheckpoint). */");
  w.write('function restoreHyper(hyper: Hyper, saved: Partial<Hyper>): void').block(() => {
    w.writeLine(`for (const key of [${HYPER_NAMES.map((n) => `'${n}'`).join(', ')}] as const) if (saved[key] !== undefined) (hyper as Record<string, number | null>)[key] = saved[key]!;`);
  });
  w.blankLine();
}

/** saveCheckpoint and loadCheckpoint, inside createTrainer, over the host's own arrays P, M, V, S, stepCount and hyper. */
export function writeCheckpoint(w: CodeBlockWriter, kind: OptimizerKind): void {
  w.writeLine('/** Everything a run needs to resume exactly, as JSON. */');
  w.writeLine('const saveCheckpoint = (): string => checkpointJson(P, S, M, V, stepCount[0]!, hyper);');
  w.writeLine('/** A checkpoint back, checked whole first: a mismatched or corrupt file throws and changes nothing. */');
  w.write('function loadCheckpoint(json: string): void').block(() => writeLoadCheckpointBody(w, kind, (buf, value) => `${buf}.set(${value});`, 'stepCount[0]'));
}

/**
 * The body of loadCheckpoint for every host (`json` in scope): read and check the whole file, then
 * write each array with `store` (an array's set, a GPU buffer's writeBuffer) and the step count.
 */
export function writeLoadCheckpointBody(w: CodeBlockWriter, kind: OptimizerKind, store: (buf: 'P' | 'S' | 'M' | 'V', value: string) => string, stepCount: string): void {
  const has = optimizerMoments(kind);
  w.writeLine('const doc = readCheckpoint(json);');
  w.writeLine('// all checked: now write');
  w.writeLine(store('P', 'doc.P'));
  w.writeLine(store('S', 'doc.S'));
  if (has.m) w.writeLine(store('M', 'doc.M!'));
  if (has.v) w.writeLine(store('V', 'doc.V!'));
  w.writeLine(`${stepCount} = doc.step;`);
  w.writeLine('restoreHyper(hyper, doc.hyper);');
}
