/**
 * Tag a sentence with a saved tagger (examples/pos/train.ts saves one; npm start trains it):
 *
 *   npx tsx examples/pos/tag.ts "the old man the boats"
 *   npx tsx examples/pos/tag.ts --trainer out/pos-tagger.ts --saved out/pos-tagger.json "Time flies like an arrow."
 *
 * The sentence is split into words and punctuation, each word lower-cased (a capital inside the
 * sentence is kept as its shape class, as in training), and printed with its universal tag.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SHAPE_CLASSES, UNIVERSAL_TAGS, type Vocab } from './brown.ts';
import { encodeSentences } from './sentences.ts';
import { checkTaggerModule, predictTags, tokenize, type SavedTagger, type TaggerModule } from './tagger.ts';

const { values, positionals } = parseArgs({ options: { trainer: { type: 'string' }, saved: { type: 'string' } }, allowPositionals: true });
const text = positionals.join(' ');
const trainerFile = values.trainer ?? 'out/pos-tagger.ts';
const savedFile = values.saved ?? trainerFile.replace(/\.[cm]?[tj]s$/, '.json');
const fail = (msg: string): never => {
  console.error(`tag: ${msg}`);
  process.exit(2);
};
if (text.trim() === '') fail('usage: tsx examples/pos/tag.ts [--trainer out/pos-tagger.ts] [--saved out/pos-tagger.json] "a sentence"');
if (!fs.existsSync(trainerFile) || !fs.existsSync(savedFile)) fail(`no saved tagger at ${trainerFile} and ${savedFile}: train one first (npm start)`);

const mod = (await import(pathToFileURL(path.resolve(trainerFile)).href)) as TaggerModule;
const { B, T } = checkTaggerModule(mod, trainerFile, SHAPE_CLASSES.length);
let saved: SavedTagger;
try {
  saved = JSON.parse(fs.readFileSync(savedFile, 'utf8')) as SavedTagger;
} catch (e) {
  fail(`${savedFile}: not JSON: ${(e as Error).message}`);
}
if (saved!.format !== 'rnnc-pos-tagger' || !Array.isArray(saved!.words)) fail(`${savedFile}: not a saved tagger (examples/pos/train.ts writes one)`);
const trainer = mod.createTrainer();
trainer.loadParams(saved!.params);
const vocab: Vocab = {
  words: saved!.words, wordToId: new Map(saved!.words.map((w, i) => [w, i])),
  tags: UNIVERSAL_TAGS, tagToId: new Map(UNIVERSAL_TAGS.map((t, i) => [t, i])),
};
const sentence = tokenize(text);
const [tags] = predictTags(trainer, encodeSentences([sentence], vocab), B, T);
console.log(sentence.map((tok, i) => `${tok.word}/${UNIVERSAL_TAGS[tags![i]!]}`).join(' '));
