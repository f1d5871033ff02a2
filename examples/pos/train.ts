/**
 * The main job: train a compiled bidirectional LSTM as a part-of-speech tagger on the Brown corpus.
 *
 *   npx rnnc compile examples/cells/tagger.ts -o out/pos-tagger.ts --embed x=10000 --lengths ...   (npm start does this)
 *   npx tsx examples/pos/train.ts out/pos-tagger.ts [--epochs 3] [--docs 100 | all] [--save out/pos-tagger.json]
 *
 * Each batch row is one sentence (a long one in overlapping pieces), padded, with its length and
 * -100 for the targets that do not count; the trainer holds a sentence's state past its end and
 * runs its backward direction from its own last word. Documents are held out (the last fifth).
 * Prints the loss falling, then the held-out accuracy overall, per tag and on words unseen in
 * training next to the most-frequent-tag baseline, and saves the tagger for examples/pos/tag.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { buildVocab, loadBrown, mostFrequentTagBaseline, SHAPE_CLASSES, splitBrown } from './brown.ts';
import { batches, encodeSentences } from './sentences.ts';
import { checkTaggerModule, formatReport, predictTags, report, trainEpoch, type SavedTagger, type TaggerModule } from './tagger.ts';

const { values, positionals } = parseArgs({ options: { epochs: { type: 'string' }, docs: { type: 'string' }, files: { type: 'string' }, save: { type: 'string' }, lr: { type: 'string' } }, allowPositionals: true });
const file = positionals[0];
if (!file) {
  console.error('usage: tsx examples/pos/train.ts <compiled-trainer.ts> [--epochs N] [--docs N|all] [--save FILE] [--lr X]');
  process.exit(2);
}
const mod = (await import(pathToFileURL(path.resolve(file)).href)) as TaggerModule;
let dims: ReturnType<typeof checkTaggerModule>;
try {
  dims = checkTaggerModule(mod, file, SHAPE_CLASSES.length);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const { B, T, V } = dims;
const docsArg = values.docs ?? values.files ?? '100';
const files = docsArg === 'all' ? 500 : Number(docsArg);
if (!Number.isInteger(files) || files < 2) {
  console.error(`--docs: '${docsArg}' must be a number of documents (2..500) or 'all'`);
  process.exit(2);
}

const t0 = performance.now();
const { docs } = loadBrown({ files });
const { train, test } = splitBrown(docs, 0.2);
const heldOut = Math.max(1, Math.round(docs.length * 0.2)); // as splitBrown counts them
const vocab = buildVocab(train, V);
const trainData = encodeSentences(train, vocab), testData = encodeSentences(test, vocab);
const tokens = (ss: { length: number }[]) => ss.reduce((n, s) => n + s.length, 0);
console.log(`Brown corpus: ${docs.length} documents (the last ${heldOut} held out), ${tokens(train)} training and ${tokens(test)} held-out tokens in ${train.length} and ${test.length} sentences; ${V} word ids, ${SHAPE_CLASSES.length} shape classes, 12 tags (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
console.log(`model: ${path.basename(file)} — ${mod.spec.sizes.H ? `H=${mod.spec.sizes.H} per direction, ` : ''}word E=${mod.spec.sizes.X}, shape F=${mod.spec.sizes.F}; batches of ${B} sentences padded to ${T} steps`);

const trainer = mod.createTrainer({ seed: 1, ...(values.lr ? { lr: Number(values.lr) } : {}) });
const perEpoch = [...batches(trainData, B, T)].length;
function bar(done: number, loss: number): void {
  if (!process.stderr.isTTY || (done % 5 !== 0 && done !== perEpoch)) return;
  const width = 30, filled = Math.round((width * done) / perEpoch);
  process.stderr.write(`\r  [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${String(done).padStart(4)}/${perEpoch} loss ${loss.toFixed(4)}`);
}

const epochs = Number(values.epochs ?? 3);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const start = performance.now();
  const loss = trainEpoch(trainer, trainData, B, T, epoch, bar);
  if (process.stderr.isTTY) process.stderr.write('\n');
  const secs = (performance.now() - start) / 1000;
  const acc = report(train, test, predictTags(trainer, testData, B, T)).accuracy;
  console.log(`epoch ${epoch}: mean training loss ${loss.toFixed(4)}, held-out accuracy ${(100 * acc).toFixed(2)}%, ${(tokens(train) / secs / 1000).toFixed(1)}k training tokens/s`);
}
const r = report(train, test, predictTags(trainer, testData, B, T));
for (const line of formatReport(r)) console.log(line);
console.log(`most-frequent-tag baseline with unseen words tagged NOUN: ${(100 * mostFrequentTagBaseline(train, test)).toFixed(2)}%`);

const save = values.save ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.json`);
const saved: SavedTagger = { format: 'rnnc-pos-tagger', words: vocab.words, params: trainer.saveParams() };
fs.writeFileSync(save, JSON.stringify(saved));
console.log(`saved the tagger to ${save} (tag a sentence: npx tsx examples/pos/tag.ts "the old man the boats")`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
