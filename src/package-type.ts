/**
 * How Node (and tsx, which follows it) will load a `.js` or `.ts` file: as an ES module only when the
 * nearest package.json above it says "type": "module". A trainer is an ES module, so `rnnc compile`
 * says what to do when it writes one where it would be taken for CommonJS (`import()` from
 * CommonJS then finds no named exports, top-level await fails, and a "type": "commonjs" package
 * refuses the `export`s outright).
 */
import fs from 'node:fs';
import path from 'node:path';

/** The nearest package.json at or above `dir`, or null. */
export function nearestPackageJson(dir: string): string | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    if (fs.existsSync(file)) return file;
    if (path.dirname(d) === d) return null;
  }
}

function isModulePackage(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { type?: unknown }).type === 'module';
  } catch {
    return false; // Node refuses a package.json it cannot parse: no ES module either
  }
}

/**
 * For an output `file` that would not load as an ES module where it is, what to do about it (one
 * sentence); null when it will. `.mts` and `.mjs` are ES modules anywhere.
 */
export function moduleTypeAdvice(file: string): string | null {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.ts' && ext !== '.js') return null;
  const pkg = nearestPackageJson(path.dirname(file));
  if (pkg !== null && isModulePackage(pkg)) return null;
  const esm = file.slice(0, -ext.length) + (ext === '.ts' ? '.mts' : '.mjs');
  // (Node 20.19+ reparses a .js file that fails as CommonJS as a module, with a warning; tsx does not)
  const how = ext === '.ts' ? 'Node and tsx load .ts files there as CommonJS' : 'Node loads .js files there as CommonJS first';
  return pkg === null
    ? `${file}: no package.json above it says "type": "module", so ${how}; write ${esm} instead, or put a package.json with "type": "module" in its folder`
    : `${file}: ${pkg} has no "type": "module", so ${how}; write ${esm} instead, or add "type": "module" to it`;
}
