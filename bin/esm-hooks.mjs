// Module hooks for the rnnc CLI (registered after tsx's): a TypeScript file outside node_modules
// is an ES module, whatever the package.json above it says. Cell files import the ESM DSL; in a
// folder without "type": "module" (a scratch file, a CommonJS project) Node would take them for
// CommonJS, which cannot require() the DSL's modules ("Cannot require() ES Module ... in a cycle").
const TS = /\.(?:ts|tsx|cts|mts)$/;

export async function resolve(specifier, context, nextResolve) {
  const r = await nextResolve(specifier, context);
  const url = r.url.split('?')[0];
  if (r.format === 'commonjs' && url.startsWith('file:') && TS.test(url) && !url.endsWith('.cts') && !url.includes('/node_modules/')) {
    return { ...r, format: 'module' };
  }
  return r;
}
