/**
 * A generated trainer as plain JavaScript with its declarations, made from the TypeScript module
 * by the TypeScript compiler in memory: one generator, so the JavaScript is the same code (types
 * erased, comments kept, nothing down-levelled) and the `.d.ts` the same types as the `.ts`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
// the typescript package itself, not ts-morph's bundled copy: the lib files (lib.es2022.d.ts) lie beside it
import ts from 'typescript';
import { RnncError } from '../ir/error.ts';

export interface JavaScriptModule {
  readonly js: string;
  readonly dts: string;
}

// The trainer needs nothing but ES2022 (typed arrays, Math): no DOM, no @types from the folder rnnc runs in.
// A WebGPU trainer's `/// <reference types="@webgpu/types" />` resolves to rnnc's own copy.
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  lib: ['lib.es2022.d.ts'],
  types: [],
  typeRoots: [path.resolve(path.dirname(createRequire(import.meta.url).resolve('@webgpu/types/package.json')), '../..')],
  strict: true,
  declaration: true,
  skipLibCheck: true,
  newLine: ts.NewLineKind.LineFeed,
};

// a name no real file has: the host serves it from memory and the lib files from disk
const FILE = path.resolve('/rnnc-in-memory/trainer.ts');

export function emitJavaScript(source: string): JavaScriptModule {
  const host = ts.createCompilerHost(OPTIONS);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === FILE ? ts.createSourceFile(FILE, source, lang) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => path.resolve(name) === FILE || fileExists.call(host, name);
  host.readFile = (name) => (path.resolve(name) === FILE ? source : readFile.call(host, name));
  const out: { js?: string; dts?: string } = {};
  host.writeFile = (name, text) => {
    if (name.endsWith('.d.ts')) out.dts = text;
    else if (name.endsWith('.js')) out.js = text;
  };
  const program = ts.createProgram([FILE], OPTIONS, host);
  // the generated module type-checks (test/codegen-ts.test.ts); a diagnostic here is a bug in rnnc,
  // and declarations emitted from code with errors would not be the types the module has
  const result = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length > 0 || out.js === undefined || out.dts === undefined) {
    const first = diagnostics[0] ? ts.flattenDiagnosticMessageText(diagnostics[0].messageText, ' ') : 'no output';
    throw new RnncError(`internal error: the generated trainer does not compile to JavaScript: ${first}`);
  }
  // the module's header (cell, sizes, layout, optimizer) heads its declarations too
  const header = source.slice(0, source.length - source.replace(/^(?:\/\/[^\n]*\n)+/, '').length);
  return { js: out.js, dts: header + out.dts };
}
