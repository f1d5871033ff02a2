// `npm run build` from a build script instead (`npx tsx build.ts`; rnnc is TypeScript): the library
// entry takes the cell (a file, a cell(...) or a traced cell) and the options of `rnnc compile` as
// values, and returns the module's text. With `format: 'js'` the text is JavaScript and `dts` holds
// its declarations, to write as trainer.js and trainer.d.ts.
import fs from 'node:fs';
import { compile } from 'rnnc';

const trainer = await compile('cell.ts', { batch: 8, seq: 12, optimizer: 'adam', lr: 0.02 });
fs.writeFileSync('trainer.ts', trainer.code);
console.log(`wrote trainer.ts (${trainer.cell}: batch ${trainer.batch}, seq ${trainer.seq})`);
