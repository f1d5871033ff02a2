/**
 * From the expanded drawing (nodes, edges, steps, windows) to DOT text: one cluster per step
 * (`cluster_t<t>` forward, `cluster_g<t>` backward), one per truncation window around them, styles
 * by kind. A pure function: the same drawing gives the same bytes.
 */
import type { DEdge, DNode, EdgeKind, Expanded, Step, Window } from './expand.ts';
import { Constraints } from './constraints.ts';
import { C, EDGE_STYLE, FONT, legend, NODE_STYLE, nodeAttrs, stepNodeAttrs } from './style.ts';
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

/** Drawn nodes past which layout effort is bounded (an op-level backward view over about 5 steps). */
const BIG_DRAWING = 180;
/** Steps (clusters) past which, with one node per step, shared nodes get one edge per window. */
const AGGREGATE_STEPS = 16;

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
  const drawnWindows = new Set(x.nodes.map((n) => n.step?.window));
  const windows = x.windows.filter((w) => drawnWindows.has(w)).sort((a, b) => a.start - b.start || (a.label ?? '').localeCompare(b.label ?? '') || a.seq - b.seq);
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
  // the drawn ids of each band, in drawing order
  const inBand: string[][] = bands.map(() => []);
  for (const [n, i] of bandOf) inBand[i]!.push(n);

  // Graphviz's x-positioning (network simplex) grows steeply with the long parameter and
  // gradient edges of a big drawing: past this size, bound its iterations (edges get wavier)
  const drawnNodes = new Set(id.values()).size;
  const big = drawnNodes > BIG_DRAWING;
  // one node per step over many steps: an edge from a shared node (the parameters, their
  // gradients, the loss seed) to every step is drawn once per window, to the window's box
  const aggregate = collapse && clusters.length > AGGREGATE_STEPS;
  const windowBoxes = windows.length > 1 || aggregate;

  const w = new DotWriter();
  w.block('digraph rnnc', () => {
    w.defaults('graph', {
      label: opts.title, labelloc: 't', fontname: FONT, fontsize: 16, rankdir: opts.rankdir, newrank: true,
      nodesep: 0.2, ranksep: 0.3, pad: 0.2, bgcolor: 'white', nslimit: big ? 4 : undefined, compound: aggregate || undefined,
    });
    w.defaults('node', { fontname: FONT, fontsize: 10, margin: '0.12,0.04', height: 0.3 });
    w.defaults('edge', { fontname: FONT, fontsize: 8, arrowsize: 0.7 });

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
          w.node(stepNodeOf.get(c)!, stepNodeAttrs(c.step, ops, opts.cellName));
        }
        for (const n of c.members) if (!folded(n)) drawNode(n);
      });
    };
    const anchor = (i: number) => w.node(`a${i}`, { label: '', shape: 'point', style: 'invis', width: 0, height: 0 });
    const drawBand = (i: number) => {
      if (bands.length > 1) anchor(i);
      bands[i]!.clusters.forEach(drawCluster);
    };

    // parameters first (drawn once, read by every step): Graphviz then keeps the forward steps, which
    // read most of them, on their side and the backward steps beside
    if (params.length && clusters.length) {
      w.block('subgraph params', () => {
        w.set('rank', 'min');
        if (oneParamNode) {
          const lines = params.map((p) => `${p.names.join(', ')}: ${p.type}`);
          w.node('params', { label: `parameters, shared by every step\n${lines.join('\n')}`, ...NODE_STYLE.param });
          params.forEach((p) => drawn.add(id.get(p)!));
        } else params.forEach(drawNode);
      });
    }
    if (opts.legend) legend(w, x, opts.rankdir);

    const bandsOf = new Map<Window, number[]>(windows.map((win) => [win, []]));
    bands.forEach((b, i) => bandsOf.get(b.window)!.push(i));
    for (const win of windows) {
      const mine = bandsOf.get(win)!;
      if (!windowBoxes) mine.forEach(drawBand);
      else {
        w.block(`subgraph cluster_w${windowIndex.get(win)}`, () => {
          const steps = `steps ${win.start}-${win.end - 1}`;
          w.set('label', win.label !== undefined ? `${win.label}: ${steps}` : windows.length === 1 ? steps : `window ${windowIndex.get(win)}: ${steps} (gradients stay inside)`);
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
    // the rest: initial states, outputs, accumulators, top-level ops
    if (oneGradNode) {
      const terms = Math.max(...accs.map((a) => a.terms));
      const lines = accs.map((a) => `${a.names.join(', ') || 'gradient'}: ${a.type}`);
      w.node('grads', { label: `parameter gradients, each summed over ${terms} steps\n${lines.join('\n')}`, ...NODE_STYLE.acc });
      accs.forEach((a) => drawn.add(id.get(a)!));
    }
    for (const n of x.nodes) if (n.step === null) drawNode(n);

    let out: Drawn[] = edges.map((e) => {
      const [from, to] = [id.get(e.from)!, id.get(e.to)!];
      // an edge running back in time (a gradient carried to the previous step) is laid out forward and drawn reversed, so time reads one way
      const rev = back(e);
      const attrs: DotAttrs = {
        ...EDGE_STYLE[e.kind], label: e.label || undefined, dir: rev ? 'back' : undefined,
        constraint: e.kind === 'saved' ? false : EDGE_STYLE[e.kind].constraint,
      };
      return { tail: rev ? to : from, head: rev ? from : to, kind: e.kind, attrs };
    });
    if (aggregate) {
      const stepOf = new Map<string, { window: number; order: number; phase: string }>();
      clusters.forEach((c, i) => stepOf.set(stepNodeOf.get(c)!, { window: windowIndex.get(c.step.window)!, order: i, phase: c.step.phase }));
      out = perWindow(out, stepOf);
    }
    for (const d of out) w.edge(d.tail, d.head, d.attrs);
    if (bands.length > 1) {
      anchor(bands.length);
      // Only constraints the drawing's own edges allow: a backward step can depend on later forward
      // steps (a loss on the last step only reaches step t through the whole forward pass), and a
      // cycle of rank constraints makes Graphviz drop some at random.
      const ranked = edges.filter((e) => e.kind !== 'saved' && e.kind !== 'loop').map((e) => (back(e) ? [id.get(e.to)!, id.get(e.from)!] as const : [id.get(e.from)!, id.get(e.to)!] as const));
      // the order to keep where the edges allow (shared nodes, then band by band, each after its
      // anchor) only makes the checks fast: the answers are the same in any order
      const shared = new Set(ranked.flat().filter((n) => !bandOf.has(n)));
      const order = new Constraints([...shared, ...inBand.flatMap((ns, i) => [`a${i}`, ...ns]), `a${bands.length}`], ranked);
      // anchors: each band's first nodes after its anchor, its last nodes before the next anchor
      inBand.forEach((ns, i) => {
        for (const n of ns) if (!hasIn.has(n) && order.add(`a${i}`, n)) w.edge(`a${i}`, n, { style: 'invis', weight: 0 });
        for (const n of ns) if (!hasOut.has(n) && order.add(n, `a${i + 1}`)) w.edge(n, `a${i + 1}`, { style: 'invis', weight: 0 });
      });
      // a step's forward and backward start level
      for (const b of bands) {
        const firsts = b.clusters.map((c) => c.members.map((n) => id.get(n)!).find((n) => !hasIn.has(n)));
        if (firsts.length === 2 && firsts[0] && firsts[1] && !order.reaches(firsts[0], firsts[1]) && !order.reaches(firsts[1], firsts[0])) {
          // a rank constraint only: an invisible edge here can make Graphviz's spline router fail
          w.block('', () => {
            w.set('rank', 'same');
            w.line(`${firsts[0]!}; ${firsts[1]!};`);
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

interface Drawn {
  readonly tail: string;
  readonly head: string;
  readonly kind: EdgeKind;
  readonly attrs: DotAttrs;
}

/** Edges between a shared node and several step nodes of one window become one edge to (or from) the window's box. */
function perWindow(edges: readonly Drawn[], stepOf: ReadonlyMap<string, { window: number; order: number; phase: string }>): Drawn[] {
  const groups = new Map<string, Drawn[]>();
  const keyOf = (d: Drawn): string | null => {
    const [t, h] = [stepOf.get(d.tail), stepOf.get(d.head)];
    if (t && !h) return `window ${t.window} ${t.phase} -> ${d.head} ${d.kind}`;
    if (h && !t) return `${d.tail} -> window ${h.window} ${h.phase} ${d.kind}`;
    return null;
  };
  const out: Drawn[] = [];
  for (const d of edges) {
    const key = keyOf(d);
    if (key === null) out.push(d);
    else if (groups.has(key)) groups.get(key)!.push(d);
    else {
      groups.set(key, [d]);
      out.push(d); // stands for its group, replaced below
    }
  }
  return out.map((d) => {
    const key = keyOf(d);
    const group = key === null ? [d] : groups.get(key)!;
    if (group.length < 2) return d;
    const toStep = stepOf.has(d.head);
    const first = group.reduce((a, b) => (stepOf.get(toStep ? b.head : b.tail)!.order < stepOf.get(toStep ? a.head : a.tail)!.order ? b : a));
    const box = `cluster_w${stepOf.get(toStep ? first.head : first.tail)!.window}`;
    return { ...first, attrs: { ...first.attrs, label: `each of ${group.length} steps`, [toStep ? 'lhead' : 'ltail']: box } };
  });
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
    const folded = /^s\d+$/.test(id.get(e.from)!);
    let text = labels.join(', ');
    if (folded && e.kind === 'saved') text = `saved: ${froms.size}`;
    else if (folded && (e.kind === 'state' || e.kind === 'gradState')) text = [...froms].flatMap((n) => n.names.filter((s) => /\[\d+\]$/.test(s) && !s.startsWith('o['))).join(', ');
    return { ...e, label: text };
  });
}
