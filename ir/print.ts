/** Deterministic text form of a graph. Names are given at print time, so output is golden-testable. */
import { fmtShape } from './error.ts';
import { graphNodes, type Graph } from './graph.ts';
import type { Attr, Node } from './node.ts';

const typeOf = (n: Node) => (n.results ? `(${n.results.map((r) => `${r.dtype}${fmtShape(r.shape)}`).join(', ')})` : `${n.dtype}${fmtShape(n.shape)}`);

function fmtAttr(k: string, v: Attr): string | null {
  if (typeof v === 'object' && !Array.isArray(v)) return null; // a body graph, printed below
  if (typeof v === 'boolean') return v ? k : null;
  if (Array.isArray(v)) return `${k}=[${v.join(',')}]`;
  return `${k}=${v}`;
}

export function printGraph(g: Graph, name = 'graph', indent = ''): string {
  const names = new Map<number, string>();
  let counter = 0;
  const ref = (n: Node) => names.get(n.id)!;
  for (const a of g.inputs) names.set(a.id, `%${a.attr<string>('name')}`);
  const params = g.inputs.map((a) => `${ref(a)}: ${typeOf(a)} ${a.attr<string>('role')}`).join(', ');
  const lines = [`${indent}${name}(${params}) {`];
  for (const n of graphNodes(g)) {
    if (names.has(n.id)) continue;
    if (n.op === 'arg') {
      // an arg that is not a declared input: a free variable (the verifier rejects these)
      names.set(n.id, `%${n.attr<string>('name')}?`);
      continue;
    }
    const id = `%${counter++}`;
    names.set(n.id, id);
    let rhs: string;
    if (n.op === 'const') rhs = `const ${n.attr<number>('value')}`;
    else {
      const attrs = Object.keys(n.attrs)
        .sort()
        .map((k) => fmtAttr(k, n.attrs[k]!))
        .filter((s): s is string => s !== null);
      rhs = `${n.op}(${n.srcs.map(ref).join(', ')})${attrs.length ? ' ' + attrs.join(' ') : ''}`;
    }
    lines.push(`${indent}  ${id} = ${rhs} : ${typeOf(n)}`);
    if (n.op === 'scan') lines.push(printGraph(n.attr<Graph>('body'), 'body', indent + '    '));
  }
  const outs = Object.entries(g.outputs).map(([k, n]) => `${k}: ${ref(n)}`);
  lines.push(`${indent}  return { ${outs.join(', ')} }`, `${indent}}`);
  return lines.join('\n');
}
