import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatSite, RnncError, type Site } from '../ir/error.ts';
import { isCellDef, type CellDef } from './dsl/cell.ts';
import { thrownSite } from './dsl/site.ts';
import { describe } from './dsl/tensor.ts';

/** The cell files being imported now: a top-level await that never settles leaves one here. */
const loading = new Set<string>();

/** Import a cell file and return its default export, which must be a `cell(...)`. */
export async function loadCell(file: string): Promise<CellDef> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new RnncError(`${file}: no such file`);
  let mod: { default?: unknown };
  loading.add(file);
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    throw await importError(file, e);
  } finally {
    loading.delete(file);
  }
  return defaultCell(file, mod);
}

/** What to say when the process ends with a cell file's import still pending (Node exits with 13, silently). */
export function unsettledLoad(): string | undefined {
  const [file] = loading;
  return file === undefined ? undefined : `${file}: cannot load the cell file: its top-level await never settles`;
}

/**
 * The default export, read once: a getter on it is the cell file's code and may throw (or answer
 * differently the next time), so its fields are copied here and the copy is checked and used.
 */
function defaultCell(file: string, mod: { default?: unknown }): CellDef {
  let def: unknown;
  try {
    def = copyFields(mod.default);
  } catch (e) {
    throw loadError(file, `reading its default export threw ${thrownText(e)}`, e instanceof Error ? thrownSite(e) : undefined);
  }
  if (!isCellDef(def)) throw new RnncError(`${file}: the default export must be a cell(...) definition`);
  return def;
}

/** The fields isCellDef checks, each read once (a look-alike that is no object is returned as it is, to be refused). */
function copyFields(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const d = x as Record<keyof CellDef, unknown>;
  const layers = d.layers;
  return { kind: d.kind, name: d.name, sizes: d.sizes, step: d.step, options: d.options, site: d.site, ...(layers === undefined ? {} : { layers }) };
}

/** Why the import failed, in one line naming the file: the cell's own error, a syntax error, or what it threw. */
async function importError(file: string, e: unknown): Promise<RnncError> {
  if (e instanceof RnncError) return e; // from cell(...) itself: it names the line already
  if (!(e instanceof Error)) return loadError(file, `it threw ${thrownText(e)}`);
  const syntax = transformError(e);
  if (syntax) return loadError(file, `SyntaxError: ${syntax.text}`, syntax.site);
  const site = thrownSite(e) ?? (e instanceof SyntaxError ? (await firstSyntaxError(file)) ?? cjsSyntaxSite(e) : undefined);
  return loadError(file, thrownText(e), site);
}

/**
 * An error loading `file`, at `site` where one is known: the cell file's own line leads, as every
 * other error's does; a line in another file (a module the cell imports) follows the file's name.
 */
function loadError(file: string, cause: string, site?: Site): RnncError {
  if (site && path.resolve(site.file) === path.resolve(file)) return new RnncError(`cannot load the cell file: ${cause}`, { ...site, file });
  return new RnncError(`${file}: cannot load the cell file: ${site ? `${formatSite(site)}: ` : ''}${cause}`);
}

/** `TypeError: x is not a function`, on one line; a non-Error as describe() says it (`string "x"`, `null`). */
function thrownText(e: unknown): string {
  if (!(e instanceof Error)) return describe(e);
  return `${e.name}: ${oneLine(e.message)}`;
}

/** A message on one line, without the colours a loader may have put in it (vite's, under vitest). */
const oneLine = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s*\n\s*/g, '; ');

/**
 * esbuild's report of a file it cannot parse (tsx's, for a .ts cell under the CLI):
 * `Transform failed with N error(s):` then `<file>:<line>:<column>: ERROR: <text>` per error.
 * The first error, with its place, and how many more there are.
 */
function transformError(e: Error): { text: string; site: Site } | undefined {
  if (!/^Transform failed with \d+ errors?:/.test(e.message)) return undefined;
  const errors = [...e.message.matchAll(/^(.+):(\d+):(\d+): ERROR: (.*)$/gm)];
  const first = errors[0];
  if (!first) return undefined;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const at = first[1]!;
  const site = { file: path.isAbsolute(at) ? path.relative(process.cwd(), at) || at : at, line: Number(first[2]), column: Number(first[3]) };
  return { text: `${first[4]}${more}`, site };
}

/** Where V8 found a syntax error in CommonJS: the stack's first line is `<file>:<line>`. */
function cjsSyntaxSite(e: SyntaxError): Site | undefined {
  const m = /^(\/[^\n]*|[A-Za-z]:\\[^\n]*):(\d+)\n/.exec(e.stack ?? '');
  return m ? { file: path.relative(process.cwd(), m[1]!) || m[1]!, line: Number(m[2]), column: 1 } : undefined;
}

/**
 * Where the cell file stops parsing, by TypeScript's parser: V8's SyntaxError for an ES module that
 * Node loads itself (a .js or .mjs cell) has no place at all. None when the file parses (the error
 * is then in a module it imports, which V8 does not name either). Loaded on use: it is large.
 */
async function firstSyntaxError(file: string): Promise<Site | undefined> {
  const { default: ts } = await import('typescript');
  const text = fs.readFileSync(file, 'utf8');
  const { diagnostics } = ts.transpileModule(text, { fileName: file, reportDiagnostics: true, compilerOptions: { allowJs: true } });
  const first = diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error && d.start !== undefined);
  if (!first || !first.file) return undefined;
  const { line, character } = first.file.getLineAndCharacterOfPosition(first.start!);
  return { file, line: line + 1, column: character + 1 };
}
