/**
 * The drawing's rank constraints (codegen/dot/constraints.ts) keep a topological order to answer
 * fast; the answers must be exactly a plain depth-first search's, whatever the order preferred,
 * for graphs with or without a cycle among the edges given at the start.
 */
import { describe, expect, it } from 'vitest';
import { Constraints } from '../codegen/dot/constraints.ts';

/** The reference: a search from scratch for every question. */
class PlainSearch {
  private readonly next = new Map<string, string[]>();
  constructor(edges: readonly (readonly [string, string])[]) {
    for (const [a, b] of edges) this.link(a, b);
  }
  private link(a: string, b: string): void {
    this.next.set(a, [...(this.next.get(a) ?? []), b]);
  }
  reaches(from: string, to: string): boolean {
    const seen = new Set([from]);
    const stack = [from];
    while (stack.length) {
      const n = stack.pop()!;
      if (n === to) return true;
      for (const m of this.next.get(n) ?? []) if (!seen.has(m)) (seen.add(m), stack.push(m));
    }
    return false;
  }
  add(a: string, b: string): boolean {
    if (this.reaches(b, a)) return false;
    this.link(a, b);
    return true;
  }
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('rank constraints of a drawing', () => {
  it('answer add and reaches exactly as a plain search does (2,000 random graphs, seeded)', () => {
    const rand = lcg(13);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    let refused = 0, reached = 0, cyclic = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const names = Array.from({ length: 2 + Math.floor(rand() * 12) }, (_, i) => `v${i}`);
      // mostly acyclic at the start (edges from lower to higher index), sometimes not
      const acyclic = rand() < 0.8;
      const edges: [string, string][] = [];
      for (let k = Math.floor(rand() * 16); k > 0; k--) {
        const [i, j] = [Math.floor(rand() * names.length), Math.floor(rand() * names.length)];
        if (!acyclic || i < j) edges.push([names[i]!, names[j]!]);
      }
      if (!acyclic) cyclic++;
      // any preferred order, some nodes left out of it, and names never seen before asked about
      const preferred = names.filter(() => rand() < 0.8).sort(() => rand() - 0.5);
      const fast = new Constraints(preferred, edges), plain = new PlainSearch(edges);
      const asked = [...names, 'fresh0', 'fresh1'];
      for (let q = 0; q < 40; q++) {
        const [a, b] = [pick(asked), pick(asked)];
        if (rand() < 0.5) {
          const r = plain.add(a, b);
          expect(fast.add(a, b), `trial ${trial}: add ${a} -> ${b}`).toBe(r);
          if (!r) refused++;
        } else {
          const r = plain.reaches(a, b);
          expect(fast.reaches(a, b), `trial ${trial}: ${a} reaches ${b}`).toBe(r);
          if (r) reached++;
        }
      }
    }
    // the table covers both answers of both questions, and graphs with a cycle
    expect(refused).toBeGreaterThan(1000);
    expect(reached).toBeGreaterThan(1000);
    expect(cyclic).toBeGreaterThan(200);
  });

  it('a chain laid out against the preferred order is reordered, and still refuses the edge that closes it', () => {
    const c = new Constraints(['d', 'c', 'b', 'a'], []);
    expect(c.add('a', 'b')).toBe(true);
    expect(c.add('b', 'c')).toBe(true);
    expect(c.add('c', 'd')).toBe(true);
    expect(c.reaches('a', 'd')).toBe(true);
    expect(c.reaches('d', 'a')).toBe(false);
    expect(c.add('d', 'a')).toBe(false);
    expect(c.add('a', 'a')).toBe(false);
    expect(c.add('a', 'd')).toBe(true);
  });
});
