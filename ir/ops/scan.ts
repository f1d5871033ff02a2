/**
 * Scan: the loop primitive. Sources are [consts, carry inits, xs]; the body graph takes
 * [consts, carries, x_t] and returns [next carries, y_t] (outputs in that order). Results are the
 * final carries, then each y stacked over time as [length, ...].
 */
import * as b from '../build.ts';
import { fmtShape, ShapeError } from '../error.ts';
import { applyReplacements, freshNames, graphNodes, makeGraph, topoSort, type Graph } from '../graph.ts';
import type { Attrs, Node, TensorType } from '../node.ts';
import { sizeOf, tensor, type Tensor } from '../tensor.ts';
import type { OpDef, Seed } from './types.ts';

export interface ScanParts {
  body: Graph;
  nConsts: number;
  nCarries: number;
  nXs: number;
  length: number;
  reverse: boolean;
}

export function scanParts(attrs: Attrs): ScanParts {
  return {
    body: attrs.body as Graph,
    nConsts: attrs.consts as number,
    nCarries: attrs.carries as number,
    nXs: attrs.xs as number,
    length: attrs.length as number,
    reverse: attrs.reverse as boolean,
  };
}

const argName = (n: Node) => n.attr<string>('name');
const typeStr = (t: TensorType) => `${t.dtype}${fmtShape(t.shape)}`;
const sameType = (a: TensorType, c: TensorType) => a.dtype === c.dtype && b.sameShape(a.shape, c.shape);

export const scanDef: OpDef = {
  arity: 'variadic',
  fusion: 'kernel',
  kinked: false,
  infer(srcs, attrs) {
    const { body, nConsts, nCarries, nXs, length } = scanParts(attrs);
    if (srcs.length !== nConsts + nCarries + nXs || body.inputs.length !== srcs.length) {
      throw new ShapeError(`${srcs.length} operands for a body of ${body.inputs.length} inputs (${nConsts} consts, ${nCarries} carries, ${nXs} xs)`);
    }
    const outs = Object.values(body.outputs);
    if (outs.length < nCarries) throw new ShapeError(`body returns ${outs.length} values for ${nCarries} carries`);
    srcs.forEach((s, i) => {
      const inp = body.inputs[i]!;
      const expected = i < nConsts + nCarries ? inp : { dtype: inp.dtype, shape: [length, ...inp.shape] };
      if (!sameType(s, expected)) throw new ShapeError(`operand ${i} ('${argName(inp)}') is ${typeStr(s)}, the body expects ${typeStr(expected)}`);
    });
    for (let k = 0; k < nCarries; k++) {
      const inp = body.inputs[nConsts + k]!;
      if (!sameType(outs[k]!, inp)) throw new ShapeError(`carry '${argName(inp)}' enters as ${typeStr(inp)} but the body returns ${typeStr(outs[k]!)}`);
    }
    const results = outs.map((o, i) => (i < nCarries ? { dtype: o.dtype, shape: o.shape } : { dtype: o.dtype, shape: [length, ...o.shape] }));
    return { dtype: 'f32', shape: [], results };
  },

  evaluate(inputs, node, ctx) {
    const { body, nConsts, nCarries, length, reverse } = scanParts(node.attrs);
    const names = body.inputs.map(argName);
    const outs = Object.values(body.outputs);
    const env: Record<string, Tensor> = {};
    inputs.forEach((v, i) => i < nConsts + nCarries && (env[names[i]!] = v));
    const ys = outs.slice(nCarries).map((o) => tensor(o.dtype, [length, ...o.shape]));
    for (let s = 0; s < length; s++) {
      const t = reverse ? length - 1 - s : s;
      for (let i = nConsts + nCarries; i < inputs.length; i++) {
        const x = inputs[i]!, n = sizeOf(body.inputs[i]!.shape);
        env[names[i]!] = tensor(x.dtype, body.inputs[i]!.shape, x.data.subarray(t * n, (t + 1) * n));
      }
      const r = Object.values(ctx.evaluate(body, env));
      for (let k = 0; k < nCarries; k++) env[names[nConsts + k]!] = r[k]!;
      ys.forEach((y, j) => y.data.set(r[nCarries + j]!.data, t * r[nCarries + j]!.data.length));
    }
    return [...names.slice(nConsts, nConsts + nCarries).map((n) => env[n]!), ...ys];
  },

  vjp(node, cot, ctx) {
    const cots = cot as readonly (Node | null)[];
    const { body, nConsts, nCarries, length, reverse } = scanParts(node.attrs);
    const constArgs = body.inputs.slice(0, nConsts);
    const carryArgs = body.inputs.slice(nConsts, nConsts + nCarries);
    const xArgs = body.inputs.slice(nConsts + nCarries);
    const outNames = Object.keys(body.outputs);
    const outs = Object.values(body.outputs);
    const srcConsts = node.srcs.slice(0, nConsts), srcXs = node.srcs.slice(nConsts + nCarries);

    const fresh = freshNames(body.inputs.map(argName));
    // 1. differentiate one step: cotangents of the next carries (a carry of the reverse scan) and of y_t
    const dCarry = carryArgs.map((k) => b.arg(fresh(`d_${argName(k)}`), k.dtype, k.shape, 'carry'));
    const dYs = outs.slice(nCarries).map((y, j) => (cots[nCarries + j] ? b.arg(fresh(`d_${outNames[nCarries + j]}`), y.dtype, y.shape, 'x') : null));
    const seeds: Seed[] = [];
    outs.forEach((o, i) => {
      const c = i < nCarries ? dCarry[i]! : dYs[i - nCarries];
      if (c && o.dtype !== 'i32') seeds.push({ node: o, cotangent: c });
    });
    const step = ctx.gradients(seeds, [...constArgs, ...carryArgs, ...xArgs]);
    const fwdBody = applyReplacements(body, step.replacements);
    // only what the outer graph wants: no gradient for inputs and targets it does not differentiate
    const wanted = step.grads.map((g, i) => (i < nConsts || i >= nConsts + nCarries) && !ctx.needsGrad(node.srcs[i]!) ? null : g);
    const gConst = wanted.slice(0, nConsts), gCarry = wanted.slice(nConsts, nConsts + nCarries), gX = wanted.slice(nConsts + nCarries);

    // 2. residuals: forward values the step's VJP reads that vary with time get saved as extra ys;
    //    values of consts alone are recomputed (they are loop-invariant)
    const fwd = new Set(graphNodes(fwdBody).map((n) => n.id));
    for (const a of body.inputs) fwd.add(a.id);
    const invariant = new Set<number>();
    for (const n of topoSort([...fwdBody.inputs, ...Object.values(fwdBody.outputs)])) {
      const isConstArg = n.op === 'arg' && constArgs.includes(n);
      if (n.op === 'const' || isConstArg || (n.op !== 'arg' && n.srcs.length > 0 && n.srcs.every((s) => invariant.has(s.id)))) invariant.add(n.id);
    }
    const roots = [...gConst, ...gCarry, ...gX].filter((g): g is Node => g !== null);
    const residuals: Node[] = [];
    const isResidual = (n: Node) => fwd.has(n.id) && !invariant.has(n.id) && !xArgs.includes(n);
    for (const n of topoSort(roots)) {
      if (fwd.has(n.id)) continue;
      for (const s of n.srcs) if (isResidual(s) && !residuals.includes(s)) residuals.push(s);
    }
    for (const r of roots) if (isResidual(r) && !residuals.includes(r)) residuals.push(r);
    const resArgs = residuals.map((r, i) => b.arg(fresh(`res${i}`), r.dtype, r.shape, 'x'));

    // 3. the forward scan again, now also emitting the residuals; it replaces `node` everywhere
    const resOuts: Record<string, Node> = {};
    const freshOut = freshNames(Object.keys(fwdBody.outputs));
    residuals.forEach((r, i) => (resOuts[freshOut(`__res${i}_${node.id}`)] = r));
    const fwd2 = b.scan(makeGraph(fwdBody.inputs, { ...fwdBody.outputs, ...resOuts }), node.srcs, { consts: nConsts, carries: nCarries, xs: srcXs.length }, length, reverse);
    ctx.replace(node, fwd2);

    // 4. the backward body: residuals read from args; parameter gradients accumulate in carries
    const subst = new Map<number, Node>(residuals.map((r, i) => [r.id, resArgs[i]!]));
    const memo = new Map<number, Node>();
    const rebuild = (n: Node): Node => {
      const hit = subst.get(n.id) ?? memo.get(n.id);
      if (hit) return hit;
      const order = topoSort([n]);
      for (const m of order) {
        if (subst.has(m.id) || memo.has(m.id)) continue;
        const srcs = m.srcs.map((s) => subst.get(s.id) ?? memo.get(s.id)!);
        memo.set(m.id, srcs.every((s, i) => s === m.srcs[i]) ? m : b.rebuild(m, srcs));
      }
      return memo.get(n.id)!;
    };
    const accIdx = gConst.map((g, i) => (g && constArgs[i]!.dtype !== 'i32' ? i : -1)).filter((i) => i >= 0);
    const accArgs = accIdx.map((i) => b.arg(fresh(`dacc_${argName(constArgs[i]!)}`), constArgs[i]!.dtype, constArgs[i]!.shape, 'carry'));
    const xIdx = gX.map((g, j) => (g ? j : -1)).filter((j) => j >= 0);
    const bwdOuts: Record<string, Node> = {};
    carryArgs.forEach((k, i) => (bwdOuts[argName(dCarry[i]!)] = gCarry[i] ? rebuild(gCarry[i]!) : b.zerosLike(k)));
    accIdx.forEach((i, a) => (bwdOuts[argName(accArgs[a]!)] = b.add(accArgs[a]!, rebuild(gConst[i]!))));
    xIdx.forEach((j) => (bwdOuts[fresh(`d_${argName(xArgs[j]!)}`)] = rebuild(gX[j]!)));
    const usedDYs = dYs.filter((d): d is Node => d !== null);
    const bwdBody = makeGraph([...constArgs, ...dCarry, ...accArgs, ...resArgs, ...xArgs, ...usedDYs], bwdOuts);

    const nY = outs.length - nCarries;
    const bwdSrcs = [
      ...srcConsts,
      ...carryArgs.map((k, i) => cots[i] ?? b.zerosLike(k)),
      ...accArgs.map((a) => b.zerosLike(a)),
      ...residuals.map((_, i) => b.proj(fwd2, nCarries + nY + i)),
      ...srcXs,
      ...cots.slice(nCarries).filter((c): c is Node => c !== null),
    ];
    const bwd = b.scan(bwdBody, bwdSrcs, { consts: nConsts, carries: nCarries + accArgs.length, xs: resArgs.length + srcXs.length + usedDYs.length }, length, !reverse);

    const grads: (Node | null)[] = node.srcs.map(() => null);
    accIdx.forEach((i, a) => (grads[i] = b.proj(bwd, nCarries + a)));
    carryArgs.forEach((_, i) => (grads[nConsts + i] = b.proj(bwd, i)));
    xIdx.forEach((j, q) => (grads[nConsts + nCarries + j] = b.proj(bwd, nCarries + accArgs.length + q)));
    return grads;
  },
};

/** One result of a multi-result node. */
export const projDef: OpDef = {
  arity: 1,
  fusion: 'result',
  kinked: false,
  infer([t], attrs) {
    const k = attrs.index as number;
    const r = t!.results?.[k];
    if (!r) throw new ShapeError(`no result ${k} of ${t!.op}`);
    return r;
  },
  evaluate: (inputs, node) => (inputs[0] as unknown as readonly Tensor[])[node.attr<number>('index')]!,
  vjp: () => {
    throw new Error('proj cotangents are gathered by the autodiff driver');
  },
};
