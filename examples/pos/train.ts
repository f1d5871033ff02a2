/**
 * The main job: train a compiled LSTM as a part-of-speech tagger on the Brown corpus.
 *
 *   npx rnnc compile examples/cells/lstm.ts -o out/pos-tagger.ts --embed x=10000 ...   (npm start does this)
 *   npx tsx examples/pos/train.ts out/pos-tagger.ts [--epochs 4] [--files 100]
 *
 * The corpus is one token stream cut into B parallel streams; each batch is the next T tokens of
 * every stream, so the LSTM state carries from batch to batch (truncated BPTT at batch
 * boundaries). Prints the loss falling and the held-out token accuracy next to the
 * most-frequent-tag baseline on the same split.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { accuracy, buildVocab, encode, loadBrown, makeStreams, mostFrequentTagBaseline, numBatches, splitBrown, unknownClass, UNIVERSAL_TAGS } from './brown.ts';

interface Trainer {
  state: Record<string, Float32Array>;
  step(batch: { inputs: { x: Int32Array }; targets: Int32Array }): number;
  predict(inputs: { x: Int32Array }, out?: Float32Array, options?: { state?: Record<string, Float32Array>; final?: Record<string, Float32Array> }): Float32Array;
  resetState(): void;
}
interface TrainerModule {
  spec: { batch: number; seq: number; sizes: Record<string, number>; inputs: Record<string, { vocab?: number }> };
  createTrainer(options?: { seed?: number }): Trainer;
}

const { values, positionals } = parseArgs({ options: { epochs: { type: 'string' }, files: { type: 'string' } }, allowPositionals: true });
const file = positionals[0];
if (!file) {
  console.error('usage: tsx examples/pos/train.ts <compiled-trainer.ts> [--epochs N] [--files N]');
  process.exit(2);
}
const mod = (await import(pathToFileURL(path.resolve(file)).href)) as TrainerModule;
const { batch: B, seq: T, sizes } = mod.spec;
const V = mod.spec.inputs.x?.vocab;
if (V === undefined || sizes.Y !== UNIVERSAL_TAGS.length) {
  console.error(`${file}: expected a trainer compiled with --embed x=V and --size Y=${UNIVERSAL_TAGS.length} (token input x, one class per tag)`);
  process.exit(2);
}

const t0 = performance.now();
const { docs } = loadBrown({ files: Number(values.files ?? 100) });
const { train, test } = splitBrown(docs, 0.2);
const vocab = buildVocab(train, V);
const trainIds = encode(train, vocab), testIds = encode(test, vocab);
const baseline = mostFrequentTagBaseline(train, test);
const baselineClasses = mostFrequentTagBaseline(train, test, unknownClass);
const classes = vocab.words.filter((w) => w.startsWith('<unk')).length;
const unseen = test.reduce((n, s) => n + s.filter((tok) => !vocab.wordToId.has(tok.word)).length, 0);
console.log(`Brown corpus: ${docs.length} documents, ${trainIds.words.length} training and ${testIds.words.length} held-out tokens, ${V} ids (${classes} of them unknown-word classes), ${UNIVERSAL_TAGS.length} tags (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
console.log(`held-out tokens whose word is not in the vocabulary: ${((100 * unseen) / testIds.words.length).toFixed(1)}%`);
console.log(`model: ${path.basename(file)} — LSTM E=${sizes.X} H=${sizes.H}, batch ${B} × ${T} steps`);

const trainer = mod.createTrainer({ seed: 1 });

/** Held-out accuracy: the test streams from a zero state, carried from batch to batch (predict leaves the training state alone). */
function evaluate(): number {
  const pred: number[] = [], gold: number[] = [];
  let carried: Record<string, Float32Array> | undefined;
  for (const b of makeStreams(testIds, B, T)) {
    const final: Record<string, Float32Array> = {};
    const logits = trainer.predict({ x: b.tokens }, undefined, { state: carried, final });
    carried = final;
    for (let i = 0; i < T * B; i++) {
      let best = 0;
      for (let y = 1; y < UNIVERSAL_TAGS.length; y++) if (logits[i * UNIVERSAL_TAGS.length + y]! > logits[i * UNIVERSAL_TAGS.length + best]!) best = y;
      pred.push(best);
      gold.push(b.tags[i]!);
    }
  }
  return accuracy(pred, gold);
}

function bar(done: number, total: number, text: string): void {
  if (!process.stderr.isTTY) return;
  const width = 30, filled = Math.round((width * done) / total);
  process.stderr.write(`\r  [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${String(done).padStart(4)}/${total} ${text}`);
}

const epochs = Number(values.epochs ?? 4);
const perEpoch = numBatches(trainIds.words.length, B, T);
console.log(`epoch 0: held-out accuracy ${(100 * evaluate()).toFixed(2)}% (untrained)`);
for (let epoch = 1; epoch <= epochs; epoch++) {
  trainer.resetState();
  let sum = 0, n = 0, first = NaN;
  const start = performance.now();
  for (const b of makeStreams(trainIds, B, T)) {
    const loss = trainer.step({ inputs: { x: b.tokens }, targets: b.tags });
    if (n === 0) first = loss;
    sum += loss;
    n++;
    if (n % 5 === 0 || n === perEpoch) bar(n, perEpoch, `loss ${(sum / n).toFixed(4)}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const secs = (performance.now() - start) / 1000;
  const acc = evaluate();
  console.log(`epoch ${epoch}: mean training loss ${(sum / n).toFixed(4)} (first batch ${first.toFixed(4)}), held-out accuracy ${(100 * acc).toFixed(2)}%, ${((n * B * T) / secs / 1000).toFixed(1)}k tokens/s`);
}
console.log(`most-frequent-tag baseline on the same split: ${(100 * baseline).toFixed(2)}% (unseen words tagged NOUN), ${(100 * baselineClasses).toFixed(2)}% (unseen words by the same unknown-word classes)`);
