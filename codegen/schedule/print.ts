/**
 * The schedule as text (`rnnc schedule`, golden tests): each function's items in order, a fused
 * kernel with its loop nest, values and stores, then the buffers with their live ranges and arena
 * offsets. Deterministic, so it diffs well.
 */
import { assertNever } from '../../ir/error.ts';
import type { Run } from '../../ir/program.ts';
import { formatAffine } from './affine.ts';
import { liveRanges } from './memory.ts';
import type { Access, Expr, Item, MemoryPlan, Schedule, View } from './types.ts';

const idx = (k: number) => `i${k}`;

function fmtAccess(a: Access): string {
  const terms = a.strides.map((s, k) => (s === 0 ? '' : s === 1 ? idx(k) : `${idx(k)}*${s}`)).filter(Boolean);
  const off = formatAffine(a.off);
  return `${a.buf}[${[...(off === '0' && terms.length ? [] : [off]), ...terms].join(' + ')}]`;
}

const fmtView = (v: View, size: number) => `${v.buf}[${formatAffine(v.off)} +${size}]`;

export function formatExpr(e: Expr): string {
  switch (e.op) {
    case 'load':
      return fmtAccess(e.access);
    case 'literal':
      return String(e.value);
    case 'scalar':
      return e.name;
    case 'local':
      return `v${e.id}`;
    case 'onehot': {
      const cls = [String(e.cls.off), ...e.cls.strides.map((s, k) => (s === 0 ? '' : s === 1 ? idx(k) : `${idx(k)}*${s}`)).filter(Boolean)].join(' + ');
      return `onehot(${fmtAccess(e.index)} == ${cls})`;
    }
    default:
      if ('c' in e) return `${e.op}(${formatExpr(e.c)}, ${formatExpr(e.a)}, ${formatExpr(e.b)})`;
      return 'b' in e ? `${e.op}(${formatExpr(e.a)}, ${formatExpr(e.b)})` : `${e.op}(${formatExpr(e.a)})`;
  }
}

function printItem(item: Item, indent: string, out: string[]): void {
  const line = (s: string) => out.push(indent + s);
  switch (item.kind) {
    case 'loop':
      line(`loop ${item.variable} over ${item.length} steps${item.reverse ? ', reversed' : ''}:`);
      for (const it of item.body) printItem(it, `${indent}  `, out);
      return;
    case 'elementwise':
      line(`elementwise [${item.shape.join(', ')}] (${item.fused.join(' ')}):`);
      item.locals.forEach((e, i) => line(`  v${i} = ${formatExpr(e)}`));
      item.stores.forEach((s) => line(`  ${fmtAccess(s.to)} = ${formatExpr(s.value)}`));
      return;
    case 'matmul':
      line(`matmul ${fmtView(item.c, item.m * item.n)} = ${item.a.buf}[${formatAffine(item.a.off)}]${item.transA ? 'ᵀ' : ''} · ${item.b.buf}[${formatAffine(item.b.off)}]${item.transB ? 'ᵀ' : ''}  (M=${item.m} N=${item.n} K=${item.k})`);
      return;
    case 'transpose':
      line(`transpose ${fmtView(item.out, item.rows * item.cols)} = ${fmtView(item.x, item.rows * item.cols)}ᵀ  [${item.rows}, ${item.cols}]`);
      return;
    case 'sum':
      line(`sum ${item.out.buf}[${formatAffine(item.out.off)}] = sum over axes [${item.axes.join(', ')}] of ${item.x.buf}[${formatAffine(item.x.off)}] [${item.shape.join(', ')}]`);
      return;
    case 'log_softmax':
      line(`log_softmax ${fmtView(item.out, item.rows * item.cols)} = rows of ${item.x.buf}[${formatAffine(item.x.off)}] [${item.rows}, ${item.cols}]`);
      return;
    case 'softmax_ce':
      line(`softmax_ce ${fmtView(item.out, item.rows)} = rows of ${item.x.buf}[${formatAffine(item.x.off)}] [${item.rows}, ${item.cols}] against ${item.target.buf}[${formatAffine(item.target.off)}]`);
      return;
    case 'gather':
      line(`gather ${fmtView(item.out, item.rows * item.cols)} = rows ${item.idx.buf}[${formatAffine(item.idx.off)}] of ${item.table.buf}[${formatAffine(item.table.off)}] [${item.rows}, ${item.cols}]`);
      return;
    case 'scatter_add':
      line(`scatter_add ${fmtView(item.out, item.size)} = 0; rows ${item.idx.buf}[${formatAffine(item.idx.off)}] += ${item.values.buf}[${formatAffine(item.values.off)}] [${item.rows}, ${item.cols}]`);
      return;
    case 'pad':
      line(`pad ${fmtView(item.out, item.size)} = 0; ${item.outer} blocks of ${item.block} from ${item.x.buf}[${formatAffine(item.x.off)}] at ${item.offset} of ${item.outBlock}`);
      return;
    default:
      assertNever(item);
  }
}

export function printSchedule(s: Schedule, plan?: MemoryPlan): string {
  const out: string[] = [];
  for (const fn of s.functions) {
    out.push(`function ${fn.name}(${fn.args.map((a) => `${a.name}: ${a.type}`).join(', ')})${fn.result ? ` -> ${fn.result.buf}[${formatAffine(fn.result.off)}]` : ''}`);
    for (const it of fn.items) printItem(it, '  ', out);
    const ranges = liveRanges(fn);
    const sizes = new Map(s.buffers.map((b) => [b.name, b]));
    const scratch = [...ranges].filter(([b]) => sizes.get(b)?.kind === 'scratch');
    if (scratch.length) {
      out.push('  scratch (live from item to item; offset in the arena):');
      for (const [b, r] of scratch) out.push(`    ${b.padEnd(16)} ${String(sizes.get(b)!.size).padStart(8)}  ${r.first}..${r.last}${plan ? `  @${plan.offsets.get(b)}` : ''}`);
    }
    out.push('');
  }
  // a run of calls as its formula: the printout does not grow with the number of windows
  const calls = (r: Run) => (r.count === 1 ? `${r.fn}(${r.start})` : `${r.fn}(${r.start} + ${r.stride}·n for n < ${r.count})`);
  out.push(`sequence: ${s.sequence.map(calls).join(', ')}`);
  out.push(`inference: ${s.inferenceSequence.map(calls).join(', ')}`);
  if (s.evaluationSequence.length > 0) out.push(`evaluation: ${s.evaluationSequence.map(calls).join(', ')}`);
  if (s.diagnosticsSequence) out.push(`diagnostics: ${s.diagnosticsSequence.map(calls).join(', ')}`);
  if (plan) out.push(`arena: ${plan.arenaSize} elements (${plan.separateSize} as separate buffers), offsets aligned to ${plan.align}`);
  return out.join('\n');
}
