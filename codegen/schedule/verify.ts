/**
 * An independent check of a schedule and its memory plan, by running it: every function is executed
 * element by element over its real loop bounds (each window at each start where the sequence calls
 * it), with the arena modelled as an owner per element. A store makes its buffer the owner of the
 * element; a load of a scratch buffer must find its own buffer there — otherwise two buffers that
 * are live at once share bytes, or a value is read before it is written. Every access is also checked
 * against its buffer's bounds. It shares no code with the planner's live ranges; it is slow (one step
 * per element) and meant for tests at small sizes.
 */
import { assertNever } from '../../ir/error.ts';
import { formatAffine } from './affine.ts';
import { formatExpr } from './print.ts';
import type { Access, Affine, Expr, Item, MemoryPlan, Schedule, ScheduleFunction, View } from './types.ts';
import { loadsIn } from './walk.ts';

export function checkSchedule(s: Schedule, plan: MemoryPlan, limit = 20): string[] {
  const problems: string[] = [];
  const decl = new Map(s.buffers.map((b) => [b.name, b]));
  for (const fn of s.functions) {
    const calls = [...s.sequence, ...s.inferenceSequence, ...s.evaluationSequence, ...(s.diagnosticsSequence ?? [])].filter((w) => w.fn === fn.name);
    const starts = fn.args.some((a) => a.name === 'start') ? [...new Set(calls.flatMap((r) => Array.from({ length: r.count }, (_, n) => r.start + n * r.stride)))] : [0];
    for (const start of starts) run(fn, start);
  }
  return problems;

  function run(fn: ScheduleFunction, start: number): void {
    const owner: (string | null)[] = new Array(plan.arenaSize).fill(null);
    const vars = new Map<string, number>([['start', start]]);
    const where = (what: string) => `${fn.name}(start ${start}${[...vars].filter(([v]) => v !== 'start').map(([v, x]) => `, ${v} ${x}`).join('')}): ${what}`;
    const report = (msg: string) => problems.length < limit && problems.push(msg);
    const value = (a: Affine) => a.terms.reduce((acc, [v, k]) => acc + k * (vars.get(v) ?? NaN), a.c);
    const touch = (buf: string, e: number, write: boolean, what: () => string): void => {
      const b = decl.get(buf);
      if (!b) return void report(where(`${what()}: no buffer ${buf}`));
      if (!(e >= 0 && e < b.size)) return void report(where(`${what()}: ${buf}[${e}] is outside its ${b.size} elements`));
      if (b.kind !== 'scratch' || b.dtype === 'i32') return;
      const at = plan.offsets.get(buf)! + e;
      if (write) owner[at] = buf;
      else if (owner[at] !== buf) report(where(`${what()}: reads ${buf}[${e}], but arena element ${at} holds ${owner[at] ?? 'nothing written yet'}`));
    };
    const range = (v: View, n: number, write: boolean, what: () => string) => {
      const base = value(v.off);
      for (let e = 0; e < n; e++) touch(v.buf, base + e, write, what);
    };
    const point = (a: Access, ix: readonly number[]) => value(a.off) + a.strides.reduce((acc, st, k) => acc + st * ix[k]!, 0);

    const exec = (item: Item): void => {
      switch (item.kind) {
        case 'loop':
          for (let step = 0; step < item.length; step++) {
            vars.set(item.variable, item.reverse ? item.length - 1 - step : step);
            item.body.forEach(exec);
          }
          vars.delete(item.variable);
          return;
        case 'elementwise': {
          const loads = item.locals.flatMap((e: Expr) => loadsIn(e));
          const what = () => `elementwise [${item.shape.join(', ')}] (${item.fused.join(' ')}) ${item.stores.map((st) => `${st.to.buf}[${formatAffine(st.to.off)}] = ${formatExpr(st.value)}`).join('; ')}`;
          forEachPoint(item.shape, (ix) => {
            for (const l of loads) touch(l.buf, point(l, ix), false, what);
            for (const st of item.stores) touch(st.to.buf, point(st.to, ix), true, what);
          });
          return;
        }
        case 'matmul':
          return kernel(item.kind, [[item.a, item.m * item.k], [item.b, item.k * item.n]], [[item.c, item.m * item.n]]);
        case 'transpose':
        case 'log_softmax':
          return kernel(item.kind, [[item.x, item.rows * item.cols]], [[item.out, item.rows * item.cols]]);
        case 'sum':
          return kernel(item.kind, [[item.x, item.shape.reduce((a, b) => a * b, 1)]], [[item.out, item.shape.filter((_, d) => !item.axes.includes(d)).reduce((a, b) => a * b, 1)]]);
        case 'softmax_ce':
          return kernel(item.kind, [[item.x, item.rows * item.cols], [item.target, item.rows]], [[item.out, item.rows]]);
        case 'gather':
          // the table rows read depend on the data; the ids and the result are checked
          return kernel(item.kind, [[item.idx, item.rows]], [[item.out, item.rows * item.cols]]);
        case 'scatter_add':
          return kernel(item.kind, [[item.idx, item.rows], [item.values, item.rows * item.cols]], [[item.out, item.size]]);
        case 'pad':
          return kernel(item.kind, [[item.x, item.outer * item.block]], [[item.out, item.size]]);
        default:
          assertNever(item);
      }
    };
    const kernel = (kind: string, reads: [View, number][], writes: [View, number][]) => {
      const what = () => `${kind} -> ${writes.map(([v]) => `${v.buf}[${formatAffine(v.off)}]`).join(', ')}`;
      for (const [v, n] of reads) range(v, n, false, what);
      for (const [v, n] of writes) range(v, n, true, what);
    };
    fn.items.forEach(exec);
    for (const v of [...fn.liveOut, ...(fn.result ? [fn.result] : [])]) range(v, 1, false, () => 'the result the caller reads');
  }
}

function forEachPoint(shape: readonly number[], f: (ix: readonly number[]) => void): void {
  const ix = shape.map(() => 0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    f(ix);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++ix[d]! < shape[d]!) break;
      ix[d] = 0;
    }
  }
}
