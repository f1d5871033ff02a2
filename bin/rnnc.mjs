#!/usr/bin/env node
// The rnnc command. Cell files are TypeScript, so the CLI runs under tsx's loader: `npx rnnc`
// works on .ts files straight after `npm install`, with no build step.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
// after tsx: cell files load as ES modules in any folder (see esm-hooks.mjs)
registerHooks('./esm-hooks.mjs', import.meta.url);
// `rnnc ir cell.ts | head` closes stdout early: that is not an error
process.stdout.on('error', (e) => (e.code === 'EPIPE' ? process.exit(0) : Promise.reject(e)));
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
