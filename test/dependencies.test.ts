/**
 * Dependencies run one way (issue 8): ir/ is the bottom layer, codegen/ reads ir/, src/ (the DSL,
 * the layout, the pipeline, the CLI) sits on both. Checked on the import declarations of every .ts
 * file under ir/, codegen/ and src/, parsed with the TypeScript compiler (no module is loaded).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAYERS = ['ir', 'codegen', 'src'] as const;

interface Import {
  /** Both paths relative to the repository root, with '/' separators. */
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type` (or a type written `import('…').T`): erased from the JavaScript. */
  readonly typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    return e.isDirectory() ? tsFiles(rel) : e.name.endsWith('.ts') ? [rel] : [];
  });
}

/**
 * The repository file a specifier names, or null for a package. The package's own name counts as
 * src/: every entry of its exports map lies there.
 */
function resolve(from: string, spec: string): string | null {
  if (spec.startsWith('.')) return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (spec === 'rnnc' || spec.startsWith('rnnc/')) return `src${spec.slice('rnnc'.length)}`;
  return null;
}

/** Every module `file` names: import and re-export declarations, `import('…')` calls and types. */
function importsOf(file: string): Import[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean) => {
    const to = spec && ts.isStringLiteral(spec) ? resolve(file, spec.text) : null;
    if (to !== null) found.push({ from: file, to, typeOnly });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) add(n.moduleSpecifier, n.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(n)) add(n.moduleSpecifier, n.isTypeOnly);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) add(n.argument.literal, true);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) add(n.arguments[0], false);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const layerOf = (file: string) => file.split('/')[0]!;
const show = (i: Import) => `${i.from} -> ${i.to}${i.typeOnly ? ' (type)' : ''}`;

/** The strongly connected components of more than one file, or of one that imports itself (Tarjan). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

const files = LAYERS.flatMap(tsFiles);
const imports = files.flatMap(importsOf);

describe('dependencies run one way', () => {
  it('the parse sees the imports (a sample of each kind)', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(imports.map(show)).toEqual(expect.arrayContaining([
      'ir/build.ts -> ir/node.ts',
      'ir/node.ts -> ir/graph.ts (type)',
      'src/commands/index.ts -> src/commands/dot.ts', // a dynamic import()
    ]));
  });

  it('nothing in ir/ imports codegen/ or src/', () => {
    expect(imports.filter((i) => layerOf(i.from) === 'ir' && layerOf(i.to) !== 'ir').map(show)).toEqual([]);
  });

  it('nothing in codegen/ imports src/', () => {
    expect(imports.filter((i) => layerOf(i.from) === 'codegen' && layerOf(i.to) === 'src').map(show)).toEqual([]);
  });

  // Type-only imports are left out: they are erased from the JavaScript, so they cannot change
  // which module loads first or see one half-initialised, and types that refer to each other
  // (a Node's attributes hold a Graph, a Graph holds Nodes) may well live in two files.
  it.each(['ir', 'codegen'])('no import cycle among the files of %s/', (layer) => {
    const edges = new Map<string, string[]>(files.filter((f) => layerOf(f) === layer).map((f) => [f, []]));
    for (const i of imports) if (!i.typeOnly && edges.has(i.from) && edges.has(i.to)) edges.get(i.from)!.push(i.to);
    expect(cycles(edges)).toEqual([]);
  });

  it('the cycle check can fail', () => {
    const g = (e: Record<string, string[]>) => new Map(Object.entries(e));
    expect(cycles(g({ a: ['b'], b: ['c'], c: [] }))).toEqual([]);
    expect(cycles(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual([['a', 'b', 'c']]);
    expect(cycles(g({ a: ['a'], b: ['a'] }))).toEqual([['a']]);
    expect(cycles(g({ a: ['b'], b: ['a'], c: ['d'], d: ['c'] }))).toEqual([['a', 'b'], ['c', 'd']]);
  });
});
