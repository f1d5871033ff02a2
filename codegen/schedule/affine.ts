/** Affine index expressions, kept in normal form: a constant and one coefficient per variable, none zero. */
import type { Affine } from './types.ts';

export const constant = (c: number): Affine => ({ c, terms: [] });
export const variable = (v: string, k = 1): Affine => ({ c: 0, terms: k === 0 ? [] : [[v, k]] });

export function plus(a: Affine, b: Affine | number): Affine {
  if (typeof b === 'number') return { c: a.c + b, terms: a.terms };
  const terms = new Map(a.terms);
  for (const [v, k] of b.terms) terms.set(v, (terms.get(v) ?? 0) + k);
  return { c: a.c + b.c, terms: [...terms].filter(([, k]) => k !== 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)) };
}

export function times(a: Affine, k: number): Affine {
  if (k === 0) return constant(0);
  return { c: a.c * k, terms: a.terms.map(([v, c]) => [v, c * k] as const) };
}

export const sameAffine = (a: Affine, b: Affine) =>
  a.c === b.c && a.terms.length === b.terms.length && a.terms.every(([v, k], i) => b.terms[i]![0] === v && b.terms[i]![1] === k);

export const isConstant = (a: Affine) => a.terms.length === 0;

/** `t0 * 32 + start * 6 + 12`: variables first, the constant last, zero terms left out. */
export function formatAffine(a: Affine): string {
  const parts = a.terms.map(([v, k]) => (k === 1 ? v : `${v} * ${k}`));
  if (a.c !== 0 || parts.length === 0) parts.push(String(a.c));
  return parts.join(' + ').replace(/\+ -/g, '- ');
}

/** Whether a variable of the function's step loops occurs in `a` (a per-step slot). */
export const mentions = (a: Affine, v: string) => a.terms.some(([x]) => x === v);
