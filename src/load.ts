import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RnncError } from '../ir/error.ts';
import { isCellDef, type CellDef } from './dsl/cell.ts';

/** Import a cell file and return its default export, which must be a `cell(...)`. */
export async function loadCell(file: string): Promise<CellDef> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new RnncError(`${file}: no such file`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    if (e instanceof RnncError) throw e;
    throw new RnncError(`${file}: cannot load the cell file: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isCellDef(mod.default)) throw new RnncError(`${file}: the default export must be a cell(...) definition`);
  return mod.default;
}
