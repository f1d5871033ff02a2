/** How the drawing looks: colours and shapes by node and edge kind, labels, the legend. */
import type { DNode, EdgeKind, Expanded, NodeKind, Step } from './expand.ts';
import type { DotAttrs, DotWriter } from './writer.ts';

export const FONT = 'Helvetica';
export const C = {
  param: '#fff1b8', paramLine: '#b7950b', input: '#d6eaf8', target: '#eaeded', state: '#d5f5e3', stateLine: '#1e8449',
  value: '#34495e', stateEdge: '#1a5276', grad: '#c0392b', gradFill: '#fdedec', saved: '#7d3c98', savedFill: '#ebdef0',
  nograd: '#7f8c8d', fwdCluster: '#f4f8fc', fwdLine: '#85a9cf', bwdCluster: '#fdf5f4', bwdLine: '#e6a19a',
};

export const NODE_STYLE: Record<NodeKind, DotAttrs> = {
  param: { shape: 'box', style: 'rounded,filled', fillcolor: C.param, color: C.paramLine },
  state: { shape: 'ellipse', style: 'filled', fillcolor: C.state, color: C.stateLine },
  input: { shape: 'ellipse', style: 'filled', fillcolor: C.input, color: '#2e86c1' },
  target: { shape: 'ellipse', style: 'filled', fillcolor: C.target, color: '#7f8c8d' },
  arg: { shape: 'ellipse', style: 'filled', fillcolor: C.target },
  op: { shape: 'box', style: 'filled', fillcolor: 'white', color: C.value },
  const: { shape: 'plaintext', fontsize: 8, fontcolor: '#566573', margin: 0.01, height: 0.1 },
  stopgrad: { shape: 'box', style: 'dashed,filled', fillcolor: '#f2f3f4', color: C.nograd, fontcolor: '#566573' },
  stack: { shape: 'box3d', style: 'filled', fillcolor: 'white', color: C.value },
  acc: { shape: 'box', style: 'filled,bold', fillcolor: '#f5b7b1', color: C.grad, penwidth: 2 },
  output: { shape: 'ellipse', style: 'filled,bold', fillcolor: '#f2f3f4', color: C.value },
};

export const EDGE_STYLE: Record<EdgeKind, DotAttrs> = {
  value: { color: C.value },
  state: { color: C.stateEdge, penwidth: 2.4 },
  param: { color: `${C.paramLine}99`, penwidth: 0.8, arrowsize: 0.6 },
  saved: { color: C.saved, penwidth: 1.4 },
  grad: { color: C.grad, style: 'dashed' },
  gradState: { color: C.grad, style: 'dashed', penwidth: 2.4 },
  nograd: { color: C.nograd, style: 'dotted', penwidth: 2, arrowhead: 'tee' },
  loop: { color: C.stateEdge, style: 'dashed', constraint: false },
};

function label(n: DNode): string {
  const lines: string[] = [];
  if (n.names.length) lines.push(n.names.join(', '));
  if (n.kind === 'acc') lines.push(`sum over ${n.terms} step${n.terms === 1 ? '' : 's'}`);
  if (n.kind === 'stopgrad') lines.push('stop-gradient', '(no gradient back)');
  else if (n.op) lines.push(n.op);
  lines.push(n.type);
  if (n.saved) lines.push('saved for backward');
  return lines.join('\n');
}

export function nodeAttrs(n: DNode): DotAttrs {
  const style: Record<string, string | number | boolean | undefined> = { label: label(n), ...NODE_STYLE[n.kind] };
  if (n.kind === 'op' || n.kind === 'stack' || n.kind === 'output') {
    if (n.grad) Object.assign(style, { fillcolor: C.gradFill, color: C.grad, fontcolor: '#78281f' });
    if (n.saved) Object.assign(style, { fillcolor: C.savedFill, color: C.saved, style: 'filled,bold', penwidth: 1.6 });
  } else if (n.saved) Object.assign(style, { color: C.saved, style: `${String(style.style ?? 'filled')},bold`, penwidth: 1.6 });
  if (n.kind === 'const' && n.grad) style.fontcolor = C.grad;
  return style;
}

export function stepNodeAttrs(step: Step, ops: readonly DNode[], cellName: string): DotAttrs {
  const bwd = step.phase === 'bwd';
  const saved = ops.filter((n) => n.saved).length;
  const names = ops.flatMap((n) => n.names).filter((s) => !s.startsWith('loss_sum'));
  const lines = [bwd ? `${cellName} backward` : `${cellName} step`, `t = ${step.t}, ${ops.length} ops`];
  if (names.length) lines.push(`out: ${names.join(', ')}`);
  if (saved) lines.push(`saves ${saved}`);
  return {
    label: lines.join('\n'), shape: 'box', style: 'rounded,filled,bold', fillcolor: bwd ? C.gradFill : 'white', color: bwd ? C.grad : C.stateEdge,
    fontcolor: bwd ? '#78281f' : '#1b2631', fontsize: 11, margin: '0.16,0.06',
  };
}

/** A key to the edge styles in use: real sample edges (this Graphviz build has no HTML-like labels). */
export function legend(w: DotWriter, x: Expanded, rankdir: 'LR' | 'TB'): void {
  const kinds = new Set(x.edges.map((e) => e.kind));
  const rows: [EdgeKind, string][] = [
    ['state', 'state, carried to the next step'],
    ['param', 'parameter (one node, shared by every step)'],
    ['value', 'value'],
    ['saved', 'value saved for the backward pass'],
    ['grad', 'gradient'],
    ['gradState', 'gradient, carried to the previous step'],
    ['nograd', 'stop-gradient: no gradient crosses'],
  ];
  const used = rows.filter(([k]) => kinds.has(k));
  if (used.length === 0) return;
  w.block('subgraph cluster_legend', () => {
    w.set('label', 'legend');
    w.set('style', 'rounded');
    w.set('color', '#aab7b8');
    w.set('fontsize', 10);
    used.forEach(([k, text], i) => {
      // one row per style: a short sample edge beside its meaning
      const a = `legend${i}a`, b = `legend${i}b`;
      const row = () => {
        w.node(a, { label: '', shape: 'point', width: 0.03, color: 'white' });
        w.node(b, { label: text, shape: 'plaintext', fontsize: 9, height: 0.2, margin: '0.12,0.02' });
      };
      if (rankdir === 'TB') {
        w.block('', () => {
          w.set('rank', 'same');
          row();
        });
      } else row();
      w.edge(a, b, { ...EDGE_STYLE[k], minlen: 2, constraint: true });
      if (rankdir === 'TB' && i > 0) w.edge(`legend${i - 1}a`, a, { style: 'invis' });
    });
  });
}
