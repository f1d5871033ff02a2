import { describe, it, expect } from 'vitest';
import {
  UNIVERSAL_TAGS, accuracy, buildVocab, encode, loadBrown, makeStreams, mostFrequentTagBaseline,
  numBatches, parseDoc, simplifyBrownTag, splitBrown, toUniversal, unknownClass,
} from '../examples/pos/brown.ts';

// Loaded once: 40 documents (~90k tokens) read in well under a second.
const data = loadBrown({ files: 40 });

describe('Brown loading and tag mapping', () => {
  it('maps every tag of the first 40 files into the 12 universal tags', () => {
    // loadBrown throws on an unmapped tag, so reaching here already means full coverage.
    expect(data.docs.map((d) => d.name).slice(0, 3)).toEqual(['ca01', 'ca02', 'ca03']);
    const seen = new Set<string>();
    for (const s of data.sentences) for (const t of s) seen.add(t.tag);
    for (const t of seen) expect(UNIVERSAL_TAGS).toContain(t);
    expect(seen.size).toBeGreaterThanOrEqual(11); // all but possibly X
    expect(data.sentences.length).toBeGreaterThan(3000);
  });

  it('parses the first sentence of ca01 with lower-cased words', () => {
    const first = data.sentences[0].slice(0, 5);
    expect(first).toEqual([
      { word: 'the', tag: 'DET', capital: false }, { word: 'fulton', tag: 'NOUN', capital: true },
      { word: 'county', tag: 'NOUN', capital: true }, { word: 'grand', tag: 'ADJ', capital: true },
      { word: 'jury', tag: 'NOUN', capital: true },
    ]);
    expect(data.sentences[0].at(-1)).toEqual({ word: '.', tag: '.', capital: false });
  });

  it('simplifies suffixes, fw- prefix and compound tags', () => {
    expect(simplifyBrownTag('nn-tl-hl')).toBe('nn');
    expect(simplifyBrownTag('fw-in+at-tl')).toBe('in');
    expect(simplifyBrownTag('ppss+md')).toBe('ppss');
    expect(simplifyBrownTag('---hl')).toBe('--');
    expect(toUniversal('ppss+md')).toBe('PRON');
    expect(toUniversal('pp$')).toBe('DET');
    expect(toUniversal('md*')).toBe('VERB');
    expect(toUniversal('nil')).toBe('X');
    expect(() => toUniversal('zz')).toThrow();
    // Slashes inside words: split at the last one.
    expect(parseDoc('\t1-1/2/cd miles/nns\n\n')).toEqual([[{ word: '1-1/2', tag: 'NUM', capital: false }, { word: 'miles', tag: 'NOUN', capital: false }]]);
  });

  it('filters by category', () => {
    const ed = loadBrown({ files: 3, categories: ['editorial'] });
    expect(ed.docs.map((d) => d.name)).toEqual(['cb01', 'cb02', 'cb03']);
    expect(ed.docs.every((d) => d.category === 'editorial')).toBe(true);
  });
});

describe('vocab, split, baseline', () => {
  const { train, test } = splitBrown(data.docs, 0.2);
  const vocab = buildVocab(train, 2000);

  it('splits by document, last 20% held out', () => {
    const n = (ss: typeof train) => ss.reduce((a, s) => a + s.length, 0);
    expect(train.length + test.length).toBe(data.sentences.length);
    expect(test[0]).toBe(data.docs[32].sentences[0]);
    expect(n(test) / (n(train) + n(test))).toBeGreaterThan(0.1);
  });

  it('reserves id 0 for <unk> and caps the size', () => {
    expect(vocab.words[0]).toBe('<unk>');
    expect(vocab.wordToId.get('<unk>')).toBe(0);
    expect(vocab.words.length).toBe(2000);
    expect(vocab.words[1]).toBe('the');
    expect(vocab.tags).toEqual(UNIVERSAL_TAGS);
    expect(vocab.tagToId.get('NOUN')).toBe(0);
    const ids = encode([[{ word: 'qwertyuiop', tag: 'X', capital: false }, { word: 'the', tag: 'DET', capital: false }]], vocab);
    expect([...ids.words]).toEqual([vocab.wordToId.get('<unk:low>'), 1]);
    expect([...ids.tags]).toEqual([11, 5]);
    // a word no class covers (here: a class too rare to make the cut) falls back to <unk>
    expect(encode([[{ word: 'zzz-zzzation', tag: 'X', capital: true }]], buildVocab(train, 2)).words[0]).toBe(0);
  });

  it('words seen once train their unknown-word class; unseen words get the class of their shape', () => {
    expect(unknownClass({ word: 'flimflamming', capital: false })).toBe('<unk:low-ing>');
    expect(unknownClass({ word: 'quixotically', capital: false })).toBe('<unk:low-ly>');
    expect(unknownClass({ word: 'vandenberg', capital: true })).toBe('<unk:Cap>');
    expect(unknownClass({ word: 'well-meaning', capital: false })).toBe('<unk:low-hyphen-ing>');
    expect(unknownClass({ word: '1,250', capital: false })).toBe('<unk:number>');
    expect(unknownClass({ word: 'b-52s', capital: false })).toBe('<unk:digits>');
    expect(unknownClass({ word: '--', capital: false })).toBe('<unk:punct>');
    expect(unknownClass({ word: 'sing', capital: false })).toBe('<unk:low>'); // too short for a suffix
    const counts = new Map<string, number>();
    for (const s of train) for (const t of s) counts.set(t.word, (counts.get(t.word) ?? 0) + 1);
    const once = train.flat().find((t) => counts.get(t.word) === 1)!;
    expect(vocab.wordToId.has(once.word)).toBe(false);
    expect(encode([[once]], vocab).words[0]).toBe(vocab.wordToId.get(unknownClass(once)));
    expect(vocab.words.filter((w) => w.startsWith('<unk:')).length).toBeGreaterThan(20);
  });

  it('most-frequent-tag baseline is in the plausible range; unknown-word classes raise it', () => {
    const acc = mostFrequentTagBaseline(train, test);
    expect(acc).toBeGreaterThan(0.8);
    expect(acc).toBeLessThan(0.99);
    expect(mostFrequentTagBaseline(train, test, unknownClass)).toBeGreaterThan(acc);
  });

  it('accuracy helper', () => {
    expect(accuracy([1, 2, 3, 4], [1, 2, 0, 4])).toBe(0.75);
    expect(() => accuracy([1], [1, 2])).toThrow();
  });
});

describe('makeStreams', () => {
  // Synthetic stream whose value is its own position makes contiguity checks exact.
  const N = 103, B = 4, T = 5;
  const ids = { words: Int32Array.from({ length: N }, (_, i) => i), tags: Int32Array.from({ length: N }, (_, i) => 1000 + i) };
  const batches = [...makeStreams(ids, B, T)];
  const len = Math.floor(N / B); // 25 tokens per stream

  it('yields floor(floor(N/B)/T) time-major batches', () => {
    expect(batches.length).toBe(numBatches(N, B, T));
    expect(batches.length).toBe(5);
    for (const [k, batch] of batches.entries()) {
      expect(batch.tokens.length).toBe(T * B);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
        expect(batch.tokens[t * B + b]).toBe(b * len + k * T + t);
        expect(batch.tags[t * B + b]).toBe(1000 + b * len + k * T + t);
      }
    }
  });

  it('batch k+1 continues every stream exactly where batch k ended', () => {
    for (let k = 0; k + 1 < batches.length; k++) for (let b = 0; b < B; b++) {
      expect(batches[k + 1].tokens[0 * B + b]).toBe(batches[k].tokens[(T - 1) * B + b] + 1);
    }
  });

  it('works on real data and drops the ragged tail', () => {
    const vocab = buildVocab(data.sentences, 1000);
    const enc = encode(data.sentences, vocab);
    const real = [...makeStreams(enc, 8, 35)];
    expect(real.length).toBe(Math.floor(Math.floor(enc.words.length / 8) / 35));
    const l = Math.floor(enc.words.length / 8);
    expect(real[1].tokens[0 * 8 + 3]).toBe(enc.words[3 * l + 35]);
    expect(real[1].tags[34 * 8 + 7]).toBe(enc.tags[7 * l + 35 + 34]);
  });
});
