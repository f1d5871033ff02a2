import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Import a generated TypeScript module in this process (rnnc runs under tsx, which loads .mts). */
export async function importGenerated<T>(source: string): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-'));
  const file = path.join(dir, 'trainer.mts');
  fs.writeFileSync(file, source);
  try {
    return (await import(pathToFileURL(file).href)) as T;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
