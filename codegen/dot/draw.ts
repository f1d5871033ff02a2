/**
 * From the expanded drawing (nodes, edges, steps, windows) to DOT text: one cluster per step
 * (`cluster_t<t>` forward, `cluster_g<t>` backward), one per truncation window around them, styles
 * by kind. A pure function: the same drawing gives the same bytes.
 */
import type { DEdge, DNode, EdgeKind, Expanded, NodeKind, Step, Window } from './expand.ts';
import { DotWriter, type DotAttrs } from './writer.ts';

export type Detail = 'op' | 'step';

export interface DrawOptions {
  readonly title: string;
  /** 'step' draws each step as one node (for long sequences). */
  readonly detail: Detail;
  readonly rankdir: 'LR' | 'TB';
  /** Labels of the top-level groups (the cell view's boxes), in drawing order. */
  readonly groups?: Readonly<Record<string, string>>;
  /** The name on a step's node with --detail step. */
  readonly cellName: string;
  readonly legend: boolean;
}

const FONT = 'Helvetica';
const C = {
  param: '#fff1b8', paramLine: '#b7950b', input: '#d6eaf8', target: '#eaeded', state: '#d5f5e3', stateLine: '#1e8449',
  value: '#34495e', stateEdge: '#1a5276', grad: '#c0392b', gradFill: '#fdedec', saved: '#7d3c98', savedFill: '#ebdef0',
  nograd: '#7f8c8d', fwdCluster: '#f4f8fc', fwdLine: '#85a9cf', bwdCluster: '#fdf5f4', bwdLine: '#e6a19a',
};

const NODE_STYLE: Record<NodeKind, DotAttrs> = {
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

const EDGE_STYLE: Record<EdgeKind, DotAttrs> = {
  value: { color: C.value },
  state: { color: C.stateEdge, penwidth: 2.4 },
  param: { color: `${C.paramLine}99`, penwidth: 0.8, arrowsize: 0.6 },
  saved: { color: C.saved, penwidth: 1.4 },
  grad: { color: C.grad, style: 'dashed' },
  gradState: { color: C.grad, style: 'dashed', penwidth: 2.4 },
  nograd: { color: C.nograd, style: 'dotted', penwidth: 2, arrowhead: 'tee' },
  loop: { color: C.stateEdge, style: 'dashed', constraint: false },
};

interface Cluster {
  readonly name: string;
  readonly step: Step;
  readonly members: DNode[];
}

/**
 * The DOT text of a drawing. Steps are laid out in bands, one per (window, time step), in time
 * order: invisible anchors between bands keep step t+1 after step t, and a step's backward cluster
 * sits in the same band as its forward cluster (the saved-value edges between them do not rank),
 * so the forward runs down (or right) on one side and the backward runs back up on the other.
 */
export function drawDot(x: Expanded, opts: DrawOptions): string {
  const windows = [...x.windows].filter((w) => x.nodes.some((n) => n.step?.window === w)).sort((a, b) => a.start - b.start || a.seq - b.seq);
  const windowIndex = new Map<Window, number>(windows.map((w, i) => [w, i]));
  const clusters = stepClusters(x.nodes, windowIndex);
  const collapse = opts.detail === 'step';

  // where each node is drawn: itself, or (detail step) its step's node
  const id = new Map<DNode, string>();
  const stepNodeOf = new Map<Cluster, string>();
  const clusterOf = new Map<DNode, Cluster>();
  for (const c of clusters) for (const n of c.members) clusterOf.set(n, c);
  clusters.forEach((c, i) => stepNodeOf.set(c, `s${i}`));
  const folded = (n: DNode) => collapse && n.step !== null && (n.kind === 'op' || n.kind === 'const');
  // with one node per step, the parameters are one node too (still drawn once, read by every step)
  const params = x.nodes.filter((n) => n.step === null && n.kind === 'param' && !(n.group && opts.groups?.[n.group]));
  const oneParamNode = collapse && params.length > 1;
  // and the parameter gradients one node, each step's backward feeding it once
  const accs = x.nodes.filter((n) => n.kind === 'acc');
  const oneGradNode = collapse && accs.length > 1;
  for (const n of x.nodes) {
    id.set(n, folded(n) ? stepNodeOf.get(clusterOf.get(n)!)! : oneParamNode && params.includes(n) ? 'params' : oneGradNode && accs.includes(n) ? 'grads' : `n${n.index}`);
  }

  // bands: (window, t) in order; the drawn ids in each
  const bandKey = (c: Cluster) => `${windowIndex.get(c.step.window)}/${c.step.t}`;
  const bands: { key: string; window: Window; clusters: Cluster[] }[] = [];
  for (const c of clusters) {
    const last = bands[bands.length - 1];
    if (last && last.key === bandKey(c)) last.clusters.push(c);
    else bands.push({ key: bandKey(c), window: c.step.window, clusters: [c] });
  }
  const bandOf = new Map<string, number>();
  bands.forEach((b, i) => b.clusters.forEach((c) => c.members.forEach((n) => bandOf.set(id.get(n)!, i))));
  const edges = mergedEdges(x.edges, id);
  const back = (e: DEdge) => e.from.time !== null && e.to.time !== null && e.from.time > e.to.time;
  // nodes with a ranked edge from / to a node of their own band
  const hasIn = new Set<string>(), hasOut = new Set<string>();
  for (const e of edges) {
    if (e.kind === 'saved' || e.kind === 'loop') continue;
    const [a, b] = back(e) ? [id.get(e.to)!, id.get(e.from)!] : [id.get(e.from)!, id.get(e.to)!];
    if (bandOf.get(a) !== undefined && bandOf.get(a) === bandOf.get(b)) {
      hasOut.add(a);
      hasIn.add(b);
    }
  }
  const inBand = [...bandOf.keys()];

  const w = new DotWriter();
  w.block('digraph rnnc', () => {
    w.defaults('graph', {
      label: opts.title, labelloc: 't', fontname: FONT, fontsize: 16, rankdir: opts.rankdir, newrank: true,
      nodesep: 0.2, ranksep: 0.3, pad: 0.2, bgcolor: 'white',
    });
    w.defaults('node', { fontname: FONT, fontsize: 10, margin: '0.12,0.04', height: 0.3 });
    w.defaults('edge', { fontname: FONT, fontsize: 8, arrowsize: 0.7 });
    if (opts.legend) legend(w, x, opts.rankdir);

    const drawn = new Set<string>();
    const drawNode = (n: DNode) => {
      const nid = id.get(n)!;
      if (drawn.has(nid)) return;
      drawn.add(nid);
      w.node(nid, nodeAttrs(n));
    };
    const drawCluster = (c: Cluster) => {
      w.block(`subgraph ${c.name}`, () => {
        const bwd = c.step.phase === 'bwd';
        w.set('label', bwd ? `backward, t = ${c.step.t}` : `t = ${c.step.t}`);
        w.set('style', 'rounded,filled');
        w.set('fillcolor', bwd ? C.bwdCluster : C.fwdCluster);
        w.set('color', bwd ? C.bwdLine : C.fwdLine);
        w.set('fontcolor', bwd ? C.grad : C.stateEdge);
        if (collapse) {
          const ops = c.members.filter((n) => n.kind === 'op');
          w.node(stepNodeOf.get(c)!, stepNodeAttrs(c, ops, opts.cellName));
        }
        for (const n of c.members) if (!folded(n)) drawNode(n);
      });
    };
    const anchor = (i: number) => w.node(`a${i}`, { label: '', shape: 'point', style: 'invis', width: 0, height: 0 });
    const drawBand = (i: number) => {
      if (bands.length > 1) anchor(i);
      bands[i]!.clusters.forEach(drawCluster);
    };

    for (const win of windows) {
      const mine = bands.map((b, i) => (b.window === win ? i : -1)).filter((i) => i >= 0);
      if (windows.length === 1) mine.forEach(drawBand);
      else {
        w.block(`subgraph cluster_w${windowIndex.get(win)}`, () => {
          w.set('label', `window ${windowIndex.get(win)}: steps ${win.start}-${win.end - 1} (gradients stay inside)`);
          w.set('style', 'dashed,rounded');
          w.set('color', '#5d6d7e');
          w.set('fontcolor', '#2c3e50');
          w.set('fontsize', 12);
          mine.forEach(drawBand);
        });
      }
    }
    for (const [g, label] of Object.entries(opts.groups ?? {})) {
      const members = x.nodes.filter((n) => n.step === null && n.group === g);
      if (members.length === 0) continue;
      w.block(`subgraph cluster_${g}`, () => {
        w.set('label', label);
        w.set('style', 'rounded,filled');
        w.set('fillcolor', C.fwdCluster);
        w.set('color', C.fwdLine);
        members.forEach(drawNode);
      });
    }
    // shared nodes: parameters (once, read by every step), initial states, outputs, accumulators
    if (params.length && clusters.length) {
      w.block('subgraph params', () => {
        w.set('rank', 'min');
        if (oneParamNode) {
          const lines = params.map((p) => `${p.names.join(', ')}: ${p.type}`);
          w.node('params', { ...NODE_STYLE.param, label: `parameters, shared by every step\n${lines.join('\n')}` });
          params.forEach((p) => drawn.add(id.get(p)!));
        } else params.forEach(drawNode);
      });
    }
    if (oneGradNode) {
      const terms = Math.max(...accs.map((a) => a.terms));
      const lines = accs.map((a) => `${a.names.join(', ') || 'gradient'}: ${a.type}`);
      w.node('grads', { ...NODE_STYLE.acc, label: `parameter gradients, each summed over ${terms} steps\n${lines.join('\n')}` });
      accs.forEach((a) => drawn.add(id.get(a)!));
    }
    for (const n of x.nodes) if (n.step === null) drawNode(n);

    for (const e of edges) {
      const [from, to] = [id.get(e.from)!, id.get(e.to)!];
      // an edge running back in time (a gradient carried to the previous step) is laid out forward and drawn reversed, so time reads one way
      const rev = back(e);
      const attrs: DotAttrs = {
        ...EDGE_STYLE[e.kind], label: e.label || undefined, dir: rev ? 'back' : undefined,
        constraint: e.kind === 'saved' ? false : EDGE_STYLE[e.kind].constraint,
      };
      w.edge(rev ? to : from, rev ? from : to, attrs);
    }
    if (bands.length > 1) {
      anchor(bands.length);
      // anchors: each band's first nodes after its anchor, its last nodes before the next anchor
      bands.forEach((_, i) => {
        for (const n of inBand) if (bandOf.get(n) === i && !hasIn.has(n)) w.edge(`a${i}`, n, { style: 'invis', weight: 0 });
        for (const n of inBand) if (bandOf.get(n) === i && !hasOut.has(n)) w.edge(n, `a${i + 1}`, { style: 'invis', weight: 0 });
      });
      // a step's forward and backward start level, forward first
      for (const b of bands) {
        const firsts = b.clusters.map((c) => c.members.map((n) => id.get(n)!).find((n) => !hasIn.has(n)));
        if (firsts.length === 2 && firsts[0] && firsts[1]) {
          w.block('', () => {
            w.set('rank', 'same');
            w.edge(firsts[0]!, firsts[1]!, { style: 'invis', minlen: 3 });
          });
        }
      }
      // what every step feeds (parameter gradients, the loss, final states) along the far end
      const last = x.nodes.filter((n) => n.step === null && (n.kind === 'acc' || n.kind === 'output'));
      if (last.length) {
        w.block('', () => {
          w.set('rank', 'max');
          for (const n of last) w.line(`${id.get(n)!};`);
        });
      }
    }
  });
  return w.text();
}

function stepClusters(nodes: readonly DNode[], windowIndex: ReadonlyMap<Window, number>): Cluster[] {
  const byKey = new Map<string, Cluster>();
  const seen = new Map<string, number>();
  for (const n of nodes) {
    if (!n.step) continue;
    const key = `${windowIndex.get(n.step.window)}/${n.step.t}/${n.step.phase}`;
    let c = byKey.get(key);
    if (!c) {
      c = { name: '', step: n.step, members: [] };
      byKey.set(key, c);
      const base = `${n.step.phase}/${n.step.t}`;
      seen.set(base, (seen.get(base) ?? 0) + 1);
    }
    c.members.push(n);
  }
  const clusters = [...byKey.values()].sort(
    (a, b) => windowIndex.get(a.step.window)! - windowIndex.get(b.step.window)! || a.step.t - b.step.t || (a.step.phase === 'fwd' ? 0 : 1) - (b.step.phase === 'fwd' ? 0 : 1),
  );
  // a step computed in several windows (TBPTT k1 < k2) gets one cluster per window
  return clusters.map((c) => {
    const dup = seen.get(`${c.step.phase}/${c.step.t}`)! > 1;
    const name = `cluster_${c.step.phase === 'fwd' ? 't' : 'g'}${c.step.t}${dup ? `_w${windowIndex.get(c.step.window)}` : ''}`;
    return { ...c, name };
  });
}

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

function nodeAttrs(n: DNode): DotAttrs {
  const style: Record<string, string | number | boolean | undefined> = { label: label(n), ...NODE_STYLE[n.kind] };
  if (n.kind === 'op' || n.kind === 'stack' || n.kind === 'output') {
    if (n.grad) Object.assign(style, { fillcolor: C.gradFill, color: C.grad, fontcolor: '#78281f' });
    if (n.saved) Object.assign(style, { fillcolor: C.savedFill, color: C.saved, style: 'filled,bold', penwidth: 1.6 });
  } else if (n.saved) Object.assign(style, { color: C.saved, style: `${String(style.style ?? 'filled')},bold`, penwidth: 1.6 });
  if (n.kind === 'const' && n.grad) style.fontcolor = C.grad;
  return style;
}

function stepNodeAttrs(c: Cluster, ops: readonly DNode[], cellName: string): DotAttrs {
  const bwd = c.step.phase === 'bwd';
  const saved = ops.filter((n) => n.saved).length;
  const names = ops.flatMap((n) => n.names).filter((s) => !s.startsWith('loss_sum'));
  const lines = [bwd ? `${cellName} backward` : `${cellName} step`, `t = ${c.step.t}, ${ops.length} ops`];
  if (names.length) lines.push(`out: ${names.join(', ')}`);
  if (saved) lines.push(`saves ${saved}`);
  return {
    label: lines.join('\n'), shape: 'box', style: 'rounded,filled,bold', fillcolor: bwd ? C.gradFill : 'white', color: bwd ? C.grad : C.stateEdge,
    fontcolor: bwd ? '#78281f' : '#1b2631', fontsize: 11, margin: '0.16,0.06',
  };
}

/** Edges between drawn nodes, one per (from, to, kind) once steps are folded; parallel ones merge their labels. */
function mergedEdges(edges: readonly DEdge[], id: ReadonlyMap<DNode, string>): DEdge[] {
  const out = new Map<string, { e: DEdge; labels: string[]; froms: Set<DNode> }>();
  for (const e of edges) {
    const [a, b] = [id.get(e.from)!, id.get(e.to)!];
    if (a === b) continue;
    const key = `${a}>${b}>${e.kind}`;
    let m = out.get(key);
    if (!m) out.set(key, (m = { e, labels: [], froms: new Set() }));
    if (e.label && !m.labels.includes(e.label)) m.labels.push(e.label);
    m.froms.add(e.from);
  }
  return [...out.values()].map(({ e, labels, froms }) => {
    const folded = id.get(e.from)!.startsWith('s');
    let text = labels.join(', ');
    if (folded && e.kind === 'saved') text = `saved: ${froms.size}`;
    else if (folded && (e.kind === 'state' || e.kind === 'gradState')) text = [...froms].flatMap((n) => n.names.filter((s) => /\[\d+\]$/.test(s) && !s.startsWith('o['))).join(', ');
    return { ...e, label: text };
  });
}

/** A key to the edge styles in use: real sample edges (this Graphviz build has no HTML-like labels). */
function legend(w: DotWriter, x: Expanded, rankdir: 'LR' | 'TB'): void {
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
