import fs from 'node:fs';
import path from 'node:path';
import { RnncError } from '../ir/error.ts';

/** Write a whole file or nothing: a temp file in the same folder, then a rename. */
export function writeAtomic(file: string, data: string | Uint8Array, allowed: readonly string[]): void {
  const ext = path.extname(file).toLowerCase();
  if (!allowed.includes(ext)) throw new RnncError(`${file}: unknown output extension '${ext || '(none)'}'; expected ${allowed.join(', ')}`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new RnncError(`${file}: folder ${dir} does not exist`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new RnncError(`${file}: cannot write: ${(e as Error).message}`);
  }
}
