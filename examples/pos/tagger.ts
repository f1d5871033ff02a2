// Training and running a part-of-speech tagger compiled by rnnc (examples/cells/tagger.ts, with
// --embed x=V --lengths): sentence-level batches (examples/pos/sentences.ts), an epoch of
// trainer.step over them, the tags it predicts, and the report next to the baselines.

import { mostFrequentTagger, unknownClass, UNIVERSAL_TAGS, type Sentence, type UTag } from './brown.ts';
import { batches, type Encoded, type SentenceBatch } from './sentences.ts';

/** What the tagger uses of a generated trainer (docs/trainer-api.md). */
export interface TaggerTrainer {
  step(batch: SentenceBatch): number;
  predict(inputs: SentenceBatch['inputs'], out?: Float32Array, options?: { lengths?: Int32Array }): Float32Array;
  resetState(): void;
  saveParams(): string;
  loadParams(json: string): void;
}

export interface TaggerModule {
  spec: { batch: number; seq: number; sizes: Record<string, number>; inputs: Record<string, { vocab?: number }> };
  createTrainer(options?: { seed?: number; lr?: number }): TaggerTrainer;
}

/** The trainer module's shape for a tagger: token inputs x (words) and shape, Y tags; a clear error otherwise. */
export function checkTaggerModule(mod: TaggerModule, file: string, shapes: number): { B: number; T: number; V: number } {
  const { batch: B, seq: T, sizes, inputs } = mod.spec;
  const V = inputs.x?.vocab;
  if (V === undefined || inputs.shape?.vocab !== shapes || sizes.Y !== UNIVERSAL_TAGS.length) {
    throw new Error(`${file}: expected a tagger trainer (examples/cells/tagger.ts) compiled with --embed x=V --lengths --size S=${shapes} --size Y=${UNIVERSAL_TAGS.length}`);
  }
  return { B, T, V };
}

/** One pass over the training pieces in a seeded order; returns the mean loss. Each sentence starts from a zero state. */
export function trainEpoch(trainer: TaggerTrainer, data: readonly Encoded[], B: number, T: number, seed: number, progress?: (done: number, loss: number) => void): number {
  let sum = 0, n = 0;
  for (const batch of batches(data, B, T, { seed })) {
    trainer.resetState();
    sum += trainer.step(batch);
    n++;
    progress?.(n, sum / n);
  }
  return sum / n;
}

/** The predicted tag id of every token of every sentence. */
export function predictTags(trainer: TaggerTrainer, data: readonly Encoded[], B: number, T: number): Int32Array[] {
  const Y = UNIVERSAL_TAGS.length;
  const out = data.map((s) => new Int32Array(s.words.length));
  const logits = new Float32Array(T * B * Y);
  for (const batch of batches(data, B, T)) {
    // (predict starts from a zero state and leaves the training state alone)
    trainer.predict(batch.inputs, logits, { lengths: batch.lengths });
    batch.rows.forEach((p, b) => {
      if (!p) return;
      for (let k = p.from; k < p.to; k++) {
        const at = ((k - p.start) * B + b) * Y;
        let best = 0;
        for (let y = 1; y < Y; y++) if (logits[at + y]! > logits[at + best]!) best = y;
        out[p.sentence]![k] = best;
      }
    });
  }
  return out;
}

/** Accuracy overall, per tag and on words never seen in training, for the tagger and for a baseline. */
export interface Report {
  tokens: number;
  accuracy: number;
  baseline: number;
  unseen: { tokens: number; accuracy: number; baseline: number };
  perTag: { tag: UTag; tokens: number; accuracy: number; baseline: number }[];
}

export function report(train: Sentence[], test: Sentence[], predicted: readonly Int32Array[]): Report {
  const seen = new Set<string>();
  for (const s of train) for (const tok of s) seen.add(tok.word);
  const baseline = mostFrequentTagger(train, unknownClass);
  const count = () => ({ n: 0, ok: 0, base: 0 });
  const all = count(), unseen = count();
  const perTag = new Map<UTag, ReturnType<typeof count>>(UNIVERSAL_TAGS.map((t) => [t, count()]));
  test.forEach((s, i) => s.forEach((tok, k) => {
    const ok = UNIVERSAL_TAGS[predicted[i]![k]!] === tok.tag ? 1 : 0, base = baseline(tok) === tok.tag ? 1 : 0;
    for (const c of [all, perTag.get(tok.tag)!, ...(seen.has(tok.word) ? [] : [unseen])]) (c.n++, (c.ok += ok), (c.base += base));
  }));
  const frac = (a: number, n: number) => (n === 0 ? NaN : a / n);
  return {
    tokens: all.n, accuracy: frac(all.ok, all.n), baseline: frac(all.base, all.n),
    unseen: { tokens: unseen.n, accuracy: frac(unseen.ok, unseen.n), baseline: frac(unseen.base, unseen.n) },
    perTag: [...perTag].map(([tag, c]) => ({ tag, tokens: c.n, accuracy: frac(c.ok, c.n), baseline: frac(c.base, c.n) })),
  };
}

/** The report as lines of text. */
export function formatReport(r: Report): string[] {
  const pct = (x: number) => (Number.isNaN(x) ? '   -  ' : `${(100 * x).toFixed(2).padStart(6)}%`);
  return [
    `held-out token accuracy ${pct(r.accuracy)} over ${r.tokens} tokens (most-frequent-tag baseline ${pct(r.baseline)})`,
    `words unseen in training: ${pct(r.unseen.accuracy)} over ${r.unseen.tokens} tokens (baseline, by unknown-word class: ${pct(r.unseen.baseline)})`,
    'per tag:   tokens  tagger  baseline',
    ...r.perTag.map((t) => `  ${t.tag.padEnd(5)} ${String(t.tokens).padStart(7)} ${pct(t.accuracy)} ${pct(t.baseline)}`),
  ];
}

/** A saved tagger: its parameters (saveParams) and the vocabulary that gives the word ids. */
export interface SavedTagger { format: 'rnnc-pos-tagger'; words: string[]; params: string }

/** Words and punctuation, as the Brown corpus splits them (a possessive 's stays with its word). */
export function tokenize(text: string): Sentence {
  const words = text.match(/[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*(?:'s)?|[^\sA-Za-z0-9]/g) ?? [];
  return words.map((w, i) => ({ word: w.toLowerCase(), tag: 'X', capital: i > 0 && /^[A-Z]/.test(w) }));
}

