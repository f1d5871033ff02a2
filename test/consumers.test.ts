/**
 * The package as a user installs it: `npm pack` of this working tree, the tarball installed into
 * fresh copies of the example projects (examples/consumers/), and in each the commands its README
 * gives — `npx rnnc compile` on its cell (which imports 'rnnc/dsl' from the installed package), then
 * the program that imports the trainer and trains it, whose loss falls at every step:
 * - node-esm: an ES-module package with no TypeScript of its own; trainer.js + trainer.d.ts, run
 *   by plain `node app.js`;
 * - commonjs: a "type": "commonjs" package; trainer.mjs + trainer.d.mts, loaded by `await import()`
 *   from `node main.js`. There, `-o trainer.ts` (which Node and tsx would load as CommonJS) warns
 *   and says to write trainer.mts, and a trainer.mts loads under tsx from a CommonJS file;
 * - typescript: an ES-module package with a strict tsconfig; trainer.ts, run by `npx tsx app.ts`,
 *   type-checked by `npx tsc`, and written the same by its build script through `compile` from 'rnnc'.
 *
 * No network: `npm ci` leaves the lockfile's tarballs in npm's cache but not the registry's package
 * documents, without which npm cannot resolve a version range offline. So each project starts with a
 * package-lock.json made from rnnc's own (the versions rnnc is tested with; npm prunes what the
 * project does not use), and `npm install --offline` takes everything from the cache.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArgs, copyProject, expectFalling, lossesOf, ROOT, run } from './consumer-helpers.ts';

const TIMEOUT = 300_000;
const NPM = 'npm';
const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

let tmp: string;
let tarball: string;

/** A lockfile for `project` from rnnc's: its root entry is the project's, rnnc's entries stay, npm prunes the unused. */
function seedLockfile(project: string): void {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
  const { name, dependencies, devDependencies } = pkg;
  const packages = { ...lock.packages, '': { name, dependencies, devDependencies } };
  fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify({ name, lockfileVersion: 3, requires: true, packages }, null, 2));
}

/** A fresh copy of an example project with the packed rnnc installed in it, offline. */
function install(name: string): string {
  const project = copyProject(name, path.join(tmp, name));
  const pkgFile = path.join(project, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { devDependencies: Record<string, string> };
  pkg.devDependencies.rnnc = `file:${path.relative(project, tarball)}`; // not the working copy the example links in this repository
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  seedLockfile(project);
  run(NPM, ['install', '--offline', ...quiet, '--save-dev', tarball], project);
  return project;
}

const npx = (project: string, args: readonly string[]) => run(NPM, ['exec', '--offline', '--', ...args], project);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-consumers-'));
  const packed = JSON.parse(run(NPM, ['pack', '--json', '--pack-destination', tmp, ...quiet], ROOT).stdout) as { filename: string }[];
  tarball = path.join(tmp, packed[0]!.filename);
}, TIMEOUT);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A trainer module has no import or require of anything: the project ships it without rnnc. */
function expectStandalone(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  expect(text).not.toMatch(/^\s*import\b|\bimport\s*\(|\brequire\s*\(/m);
  expect(text).toMatch(/^export function createTrainer\(/m);
}

describe('the packed rnnc installed in fresh projects', () => {
  it('an ES-module package without TypeScript: trainer.js and its .d.ts, trained by plain node', () => {
    const project = install('node-esm');
    const { stderr } = npx(project, ['rnnc', ...buildArgs(project)]);
    expect(stderr).toMatch(/^rnnc: wrote trainer\.js and trainer\.d\.ts \(tagger: batch 8, seq 12, \d+ bytes\)\n$/);
    expectStandalone(path.join(project, 'trainer.js'));
    expect(fs.readFileSync(path.join(project, 'trainer.d.ts'), 'utf8')).toMatch(/export declare const spec: \{\n\s+readonly cell: "tagger";/);
    const losses = lossesOf(run(process.execPath, ['app.js'], project).stdout);
    expect(losses).toHaveLength(20);
    expectFalling(losses);
  }, TIMEOUT);

  it('a CommonJS package: trainer.mjs by await import(); a .ts output there warns and .mts loads under tsx', () => {
    const project = install('commonjs');
    const { stderr } = npx(project, ['rnnc', ...buildArgs(project)]);
    expect(stderr).toMatch(/^rnnc: wrote trainer\.mjs and trainer\.d\.mts \(tagger: batch 8, seq 12, \d+ bytes\)\n$/);
    expectStandalone(path.join(project, 'trainer.mjs'));
    expect(fs.existsSync(path.join(project, 'trainer.d.mts'))).toBe(true);
    expectFalling(lossesOf(run(process.execPath, ['main.js'], project).stdout));

    // the case of a .ts trainer where Node takes .ts for CommonJS: rnnc says what to write instead
    const ts = npx(project, ['rnnc', 'compile', 'cell.ts', '-o', 'trainer.ts']);
    expect(ts.stderr).toMatch(/^rnnc compile: warning: trainer\.ts: \S+\/commonjs\/package\.json has no "type": "module", so Node and tsx load \.ts files there as CommonJS; write trainer\.mts instead, or add "type": "module" to it\nrnnc: wrote trainer\.ts /);
    const mts = npx(project, ['rnnc', 'compile', 'cell.ts', '-o', 'trainer.mts']);
    expect(mts.stderr).toMatch(/^rnnc: wrote trainer\.mts /);
    // and doing so works: a CommonJS file under tsx imports the .mts trainer and trains it
    fs.writeFileSync(path.join(project, 'probe.js'), "import('./trainer.mts').then(({ createTrainer, spec }) => console.log(typeof createTrainer, spec.cell));\n");
    expect(npx(project, ['tsx', 'probe.js']).stdout).toBe('function tagger\n');
  }, TIMEOUT);

  it('a TypeScript package: trainer.ts run by tsx, type-checked by tsc, and the same from the library entry', () => {
    const project = install('typescript');
    const { stderr } = npx(project, ['rnnc', ...buildArgs(project)]);
    expect(stderr).toMatch(/^rnnc: wrote trainer\.ts \(tagger: batch 8, seq 12, \d+ bytes\)\n$/);
    expectStandalone(path.join(project, 'trainer.ts'));
    expectFalling(lossesOf(npx(project, ['tsx', 'app.ts']).stdout));
    npx(project, ['tsc', '-p', '.']); // strict: exit 0, or the test fails with tsc's errors

    const fromCli = fs.readFileSync(path.join(project, 'trainer.ts'), 'utf8');
    fs.rmSync(path.join(project, 'trainer.ts'));
    expect(npx(project, ['tsx', 'build.ts']).stdout).toBe('wrote trainer.ts (tagger: batch 8, seq 12)\n');
    expect(fs.readFileSync(path.join(project, 'trainer.ts'), 'utf8')).toBe(fromCli);
  }, TIMEOUT);
});
