import fs from 'node:fs';
import path from 'node:path';
import { RnncError } from '../ir/error.ts';

/** Check up front that `file` can be written: its folder exists and is a folder, and it is not one. */
export function checkOutputPath(file: string): void {
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new RnncError(`${file}: folder '${path.dirname(file)}' does not exist`);
  }
  if (!st.isDirectory()) throw new RnncError(`${file}: '${path.dirname(file)}' is not a folder`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new RnncError(`${file}: is a folder`);
}

/** Check that `file` has one of the `allowed` extensions (lower-case, with the dot). */
export function checkExtension(file: string, allowed: readonly string[]): void {
  const ext = path.extname(file).toLowerCase();
  if (!allowed.includes(ext)) throw new RnncError(`${file}: unknown output extension '${ext || '(none)'}'; expected ${allowed.join(', ')}`);
}

/** Write a whole file or nothing: a temp file in the same folder, then a rename; nothing is left behind on failure. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  checkOutputPath(file);
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new RnncError(`${file}: cannot write: ${(e as Error).message}`);
  }
}
