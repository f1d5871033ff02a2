// Sentence-level batches for a tagger compiled with variable lengths (rnnc compile --lengths):
// every row of a batch is one sentence (or one piece of a long one), padded to the compiled T,
// with its length in `lengths` and -100 (ignored) as the target of every position that does not
// count. A sentence longer than T is cut into overlapping pieces: each piece counts the tags of
// its middle and sees `margin` words of context on each side that the piece beside it counts, so
// every tag is predicted once, with context both ways (a bidirectional tagger needs it).

import { shapeClassId, tokenId, type Sentence, type Vocab } from './brown.ts';

export const IGNORE = -100;

/** A piece of a sentence: tokens [start, start + len) of it, counting the tags of [from, to). */
export interface Piece { sentence: number; start: number; len: number; from: number; to: number }

/** The pieces of a sentence of `n` tokens for rows of `T` steps, with `margin` steps of context. */
export function piecesOf(sentence: number, n: number, T: number, margin: number): Piece[] {
  if (n <= T) return [{ sentence, start: 0, len: n, from: 0, to: n }];
  if (T <= 2 * margin) throw new Error(`pieces: T (${T}) must exceed twice the margin (${margin})`);
  const out: Piece[] = [];
  for (let from = 0; from < n; ) {
    const start = Math.max(0, from - margin);
    const end = Math.min(n, start + T);
    const to = end === n ? n : end - margin;
    out.push({ sentence, start, len: end - start, from, to });
    from = to;
  }
  return out;
}

/** A sentence's token ids: the word (or its unknown-word class), its shape class and its tag. */
export interface Encoded { words: Int32Array; shapes: Int32Array; tags: Int32Array }

export function encodeSentences(sentences: Sentence[], vocab: Vocab): Encoded[] {
  return sentences.map((s) => ({
    words: Int32Array.from(s, (tok) => tokenId(tok, vocab)),
    shapes: Int32Array.from(s, (tok) => shapeClassId(tok)),
    tags: Int32Array.from(s, (tok) => vocab.tagToId.get(tok.tag)!),
  }));
}

/** One batch in the trainer's layout (time-major [T, B]), and which piece each row holds. */
export interface SentenceBatch {
  inputs: { x: Int32Array; shape: Int32Array };
  targets: Int32Array;
  lengths: Int32Array;
  rows: (Piece | null)[];
}

/** Rows `pieces` (at most B; the rest are empty rows of length 1, counting nothing). */
export function makeBatch(data: readonly Encoded[], pieces: readonly Piece[], B: number, T: number): SentenceBatch {
  const x = new Int32Array(T * B), shape = new Int32Array(T * B), targets = new Int32Array(T * B).fill(IGNORE), lengths = new Int32Array(B).fill(1);
  const rows: (Piece | null)[] = [];
  for (let b = 0; b < B; b++) {
    const p = pieces[b];
    rows.push(p ?? null);
    if (!p) continue;
    const s = data[p.sentence]!;
    lengths[b] = p.len;
    for (let t = 0; t < p.len; t++) {
      const i = t * B + b, k = p.start + t;
      x[i] = s.words[k]!;
      shape[i] = s.shapes[k]!;
      if (k >= p.from && k < p.to) targets[i] = s.tags[k]!;
    }
  }
  return { inputs: { x, shape }, targets, lengths, rows };
}

/** A seeded shuffle (xorshift32): the same order for the same seed. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Every piece of every sentence, in batches of B (in order, or shuffled with `seed`). */
export function* batches(data: readonly Encoded[], B: number, T: number, opts: { margin?: number; seed?: number } = {}): Generator<SentenceBatch> {
  const margin = opts.margin ?? Math.min(6, Math.floor((T - 1) / 4));
  const pieces = data.flatMap((s, i) => piecesOf(i, s.words.length, T, margin));
  const order = opts.seed === undefined ? pieces : shuffled(pieces, opts.seed);
  for (let k = 0; k < order.length; k += B) yield makeBatch(data, order.slice(k, k + B), B, T);
}
