/**
 * Rank constraints that stay acyclic (tail ranked above head), answered in time that does not grow
 * with the whole drawing. `add` refuses an edge that would close a cycle, `reaches` says whether one
 * node leads to another; both give exactly what a plain depth-first search from the edge's head
 * would, but search only the nodes ranked between the two ends in a topological order kept up to
 * date as edges come in (Pearce and Kelly, "A dynamic topological sort algorithm for directed
 * acyclic graphs", JEA 11, 2006).
 *
 * Why: `rnnc dot` adds up to two invisible anchor edges per drawn node of an unrolled sequence,
 * and a plain search from each walks everything downstream of it, the rest of the sequence:
 * quadratic in T (9.8 s at 4,000 steps). In a drawing laid out step by step the order taken at the start (the
 * steps in time order, each anchor before its band) already agrees with almost every edge, so an
 * edge is checked by one comparison and an edge against the order searches a step or two.
 */
export class Constraints {
  private readonly index = new Map<string, number>();
  private readonly succ: number[][] = [];
  private readonly pred: number[][] = [];
  /** A topological order: `ord[a] < ord[b]` for every edge a -> b; null if the edges given at the start have a cycle. */
  private readonly ord: number[] | null;
  /** Search marks: node i is visited in the current search iff `mark[i] === stamp`. */
  private readonly mark: number[] = [];
  private stamp = 0;

  /**
   * `preferred` lists nodes in the order to keep where the edges leave a choice (it only makes the
   * searches short, never changes an answer); nodes named only by edges follow, in order of first use.
   */
  constructor(preferred: readonly string[], edges: readonly (readonly [string, string])[]) {
    for (const n of preferred) this.id(n);
    for (const [a, b] of edges) this.link(this.id(a), this.id(b));
    this.ord = topologicalOrder(this.succ, this.pred);
  }

  /** Whether `from` leads to `to` along the edges (a node leads to itself). */
  reaches(from: string, to: string): boolean {
    const [f, t] = [this.id(from), this.id(to)];
    return f === t || this.searchForward(f, t) === null;
  }

  /** Adds the edge a -> b unless b already leads to a (the edge would close a cycle); says whether it did. */
  add(a: string, b: string): boolean {
    const [x, y] = [this.id(a), this.id(b)];
    if (x === y) return false;
    const found = this.searchForward(y, x);
    if (found === null) return false;
    if (this.ord && this.ord[y]! < this.ord[x]!) this.reorder(found, this.searchBackward(x, this.ord[y]!));
    this.link(x, y);
    return true;
  }

  private id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.succ.length;
      this.index.set(name, i);
      this.succ.push([]);
      this.pred.push([]);
      this.mark.push(0);
      this.ord?.push(i); // a new node has no edges: last in the order is as good as anywhere
    }
    return i;
  }

  private link(a: number, b: number): void {
    this.succ[a]!.push(b);
    this.pred[b]!.push(a);
  }

  /**
   * The nodes `from` leads to that are ranked before `to`, or null if `to` is among them. With an
   * order, a node ranked after `to` cannot lead to it, so the search stops there.
   */
  private searchForward(from: number, to: number): number[] | null {
    const ord = this.ord;
    const bound = ord ? ord[to]! : Infinity;
    if (ord && ord[from]! > bound) return [];
    const stamp = ++this.stamp;
    const seen = [from];
    this.mark[from] = stamp;
    for (let k = 0; k < seen.length; k++) {
      for (const m of this.succ[seen[k]!]!) {
        if (m === to) return null;
        if (this.mark[m] !== stamp && (!ord || ord[m]! < bound)) (this.mark[m] = stamp, seen.push(m));
      }
    }
    return seen;
  }

  /** The nodes that lead to `to` ranked after `bound` (`to` included). */
  private searchBackward(to: number, bound: number): number[] {
    const ord = this.ord!;
    const stamp = ++this.stamp;
    const seen = [to];
    this.mark[to] = stamp;
    for (let k = 0; k < seen.length; k++) {
      for (const m of this.pred[seen[k]!]!) if (this.mark[m] !== stamp && ord[m]! > bound) (this.mark[m] = stamp, seen.push(m));
    }
    return seen;
  }

  /**
   * Edge x -> y against the order, `after` = what y leads to before x, `before` = what leads to x
   * after y: the same ranks, handed out again with all of `before` first, each side keeping its
   * own order. Nothing else moves, and every edge still runs forward.
   */
  private reorder(after: readonly number[], before: readonly number[]): void {
    const ord = this.ord!;
    const byOrd = (a: number, b: number) => ord[a]! - ord[b]!;
    const moved = [...[...before].sort(byOrd), ...[...after].sort(byOrd)];
    const ranks = moved.map((n) => ord[n]!).sort((a, b) => a - b);
    moved.forEach((n, i) => (ord[n] = ranks[i]!));
  }
}

/**
 * Kahn's algorithm, taking among the ready nodes the one listed first: `ord[node]` = its rank, or
 * null if the graph has a cycle.
 */
function topologicalOrder(succ: readonly number[][], pred: readonly number[][]): number[] | null {
  const waiting = pred.map((p) => p.length);
  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const ord = new Array<number>(succ.length);
  let rank = 0;
  while (ready.size) {
    const n = ready.pop();
    ord[n] = rank++;
    for (const m of succ[n]!) if (--waiting[m]! === 0) ready.push(m);
  }
  return rank === succ.length ? ord : null;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= a.length) break;
        if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
