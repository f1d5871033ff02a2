/**
 * Checkpoints, written once for every target: everything a run needs to resume exactly — the
 * parameters, the optimizer's moments and step count, the recurrent state and the settings in
 * `hyper` — with the spec they belong to. `loadCheckpoint` checks the whole file (its format, that
 * it was made for the same cell, sizes, batch, float type, parameters, states and optimizer, and
 * every array's shape, length and values) before it writes anything: a bad file changes nothing.
 */
import type { CodeBlockWriter } from 'ts-morph';
import { optimizerMoments, type OptimizerKind } from '../../ir/program.ts';

/** The spec fields a checkpoint must share with the trainer that loads it (truncation, seq and the defaults may differ). */
const MUST_MATCH = ['cell', 'sizes', 'batch', 'float', 'params', 'state'] as const;

/** Module level: one checked block of numbers from a checkpoint. */
export function writeCheckpointSupport(w: CodeBlockWriter, float: 'f32' | 'f64'): void {
  const finite = float === 'f32' ? 'Number.isFinite(Math.fround(v))' : 'Number.isFinite(v)';
  w.writeLine('/** The values of one array of a checkpoint, checked: its shape (when it has one), its length, every value finite. */');
  w.write('function checkpointBlock(what: string, entry: unknown, shape: readonly number[] | null, size: number): number[]').block(() => {
    w.writeLine("if (typeof entry !== 'object' || entry === null) throw new RangeError(`loadCheckpoint: ${what} is missing; nothing changed`);");
    w.writeLine('const e = entry as { shape?: unknown; data?: unknown };');
    w.writeLine("if (shape !== null && (!Array.isArray(e.shape) || e.shape.join(',') !== shape.join(','))) throw new RangeError(`loadCheckpoint: ${what} has shape [${String(e.shape)}], expected [${shape.join(', ')}]; nothing changed`);");
    w.writeLine(`if (!Array.isArray(e.data) || e.data.length !== size || !e.data.every((v) => typeof v === 'number' && ${finite})) throw new RangeError(\`loadCheckpoint: \${what} needs \${size} finite numbers${float === 'f32' ? ' (within float32 range)' : ''}; nothing changed\`);`);
    w.writeLine('return e.data as number[];');
  });
  w.blankLine();
}

export interface CheckpointContext {
  readonly kind: OptimizerKind;
  readonly params: readonly { readonly name: string; readonly offset: number; readonly size: number }[];
  readonly states: readonly { readonly name: string; readonly offset: number; readonly size: number }[];
  readonly nP: number;
}

/** saveCheckpoint and loadCheckpoint, inside createTrainer (over P, M, V, S, stepCount, hyper). */
export function writeCheckpoint(w: CodeBlockWriter, x: CheckpointContext): void {
  const has = optimizerMoments(x.kind);
  const block = (buf: string, s: { offset: number; size: number }, shape: string) => `{ shape: ${shape}, data: Array.from(${buf}.subarray(${s.offset}, ${s.offset + s.size})) }`;
  w.writeLine('/** Everything a run needs to resume exactly, as JSON. */');
  w.write('function saveCheckpoint(): string').block(() => {
    w.writeLine(`const params = { ${x.params.map((p) => `${JSON.stringify(p.name)}: ${block('P', p, `spec.params[${JSON.stringify(p.name)}]`)}`).join(', ')} };`);
    w.writeLine(`const state = { ${x.states.map((s) => `${JSON.stringify(s.name)}: ${block('S', s, `spec.state[${JSON.stringify(s.name)}]`)}`).join(', ')} };`);
    w.writeLine(`const optimizer = { kind: spec.optimizer.kind, step: stepCount[0], m: ${has.m ? '{ data: Array.from(M) }' : 'null'}, v: ${has.v ? '{ data: Array.from(V) }' : 'null'} };`);
    w.writeLine("return JSON.stringify({ format: 'rnnc-checkpoint', version: 1, spec, params, state, optimizer, hyper });");
  });
  w.blankLine();
  w.writeLine('/** A checkpoint back, checked whole first: a mismatched or corrupt file throws and changes nothing. */');
  w.write('function loadCheckpoint(json: string): void').block(() => {
    w.writeLine('let doc: { format?: unknown; version?: unknown; spec?: Record<string, unknown>; params?: Record<string, unknown>; state?: Record<string, unknown>; optimizer?: { kind?: unknown; step?: unknown; m?: unknown; v?: unknown }; hyper?: unknown };');
    w.writeLine("try { doc = JSON.parse(json); } catch (e) { throw new SyntaxError(`loadCheckpoint: not JSON: ${(e as Error).message}; nothing changed`); }");
    w.writeLine("if (typeof doc !== 'object' || doc === null || doc.format !== 'rnnc-checkpoint') throw new TypeError('loadCheckpoint: not an rnnc checkpoint (saveParams files load with loadParams); nothing changed');");
    w.writeLine("if (doc.version !== 1) throw new TypeError(`loadCheckpoint: format version ${String(doc.version)}, this trainer reads version 1; nothing changed`);");
    w.writeLine("if (typeof doc.spec !== 'object' || doc.spec === null) throw new TypeError('loadCheckpoint: the checkpoint has no spec; nothing changed');");
    w.writeLine('const mine = spec as unknown as Record<string, unknown>;');
    w.writeLine(`for (const field of ${JSON.stringify(MUST_MATCH)}) if (JSON.stringify(doc.spec[field]) !== JSON.stringify(mine[field])) throw new TypeError(\`loadCheckpoint: made for \${field} \${JSON.stringify(doc.spec[field])}, this trainer has \${JSON.stringify(mine[field])}; nothing changed\`);`);
    w.writeLine("const opt = doc.optimizer;");
    w.writeLine("if (typeof opt !== 'object' || opt === null || opt.kind !== spec.optimizer.kind) throw new TypeError(`loadCheckpoint: made for optimizer ${String(opt?.kind)}, this trainer's is ${spec.optimizer.kind}; nothing changed`);");
    w.writeLine("if (!(typeof opt.step === 'number' && Number.isSafeInteger(opt.step) && opt.step >= 0)) throw new RangeError(`loadCheckpoint: the optimizer's step count ${String(opt.step)} is not a non-negative integer; nothing changed`);");
    w.writeLine("checkOptions(doc.hyper as TrainerOptions, 'loadCheckpoint: hyper');");
    w.writeLine("if (typeof doc.params !== 'object' || doc.params === null || typeof doc.state !== 'object' || doc.state === null) throw new TypeError('loadCheckpoint: the checkpoint has no params or no state; nothing changed');");
    const own = (obj: string, name: string) => `Object.hasOwn(${obj}, ${JSON.stringify(name)}) ? ${obj}[${JSON.stringify(name)}] : undefined`;
    x.params.forEach((p, i) => w.writeLine(`const p${i} = checkpointBlock(${JSON.stringify(`parameter '${p.name}'`)}, ${own('doc.params', p.name)}, spec.params[${JSON.stringify(p.name)}], ${p.size});`));
    x.states.forEach((s, i) => w.writeLine(`const s${i} = checkpointBlock(${JSON.stringify(`state '${s.name}'`)}, ${own('doc.state', s.name)}, spec.state[${JSON.stringify(s.name)}], ${s.size});`));
    if (has.m) w.writeLine(`const m = checkpointBlock("the optimizer's m", opt.m, null, ${x.nP});`);
    if (has.v) w.writeLine(`const v = checkpointBlock("the optimizer's v", opt.v, null, ${x.nP});`);
    w.writeLine('// all checked: now write');
    x.params.forEach((p, i) => w.writeLine(`P.set(p${i}, ${p.offset});`));
    x.states.forEach((s, i) => w.writeLine(`S.set(s${i}, ${s.offset});`));
    if (has.m) w.writeLine('M.set(m);');
    if (has.v) w.writeLine('V.set(v);');
    w.writeLine('stepCount[0] = opt.step;');
    w.writeLine('const saved = doc.hyper as Partial<Hyper>;');
    w.writeLine("for (const key of ['lr', 'momentum', 'beta1', 'beta2', 'eps', 'weightDecay', 'alpha', 'clip'] as const) if (saved[key] !== undefined) (hyper as Record<string, number | null>)[key] = saved[key]!;");
  });
}
