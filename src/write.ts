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

/** A second name for `file`'s bytes: a hard link, or a copy where the file system has none. */
function keepCopy(file: string, to: string): void {
  try {
    fs.linkSync(file, to);
  } catch {
    fs.copyFileSync(file, to);
  }
}

/**
 * Write several files (a module and its declarations) all or none: every one to a temp file first;
 * then each replaces its target by a rename, as writeAtomic does, with a second link to the target's
 * old version kept until all are in place, so a failure part-way puts back what was there (and
 * removes what was not).
 */
export function writeAtomicAll(files: readonly { readonly file: string; readonly data: string | Uint8Array }[]): void {
  for (const { file } of files) checkOutputPath(file);
  const aside = (file: string, what: string) => path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${what}`);
  const staged: { file: string; tmp: string; old: string | null }[] = [];
  const done: typeof staged = [];
  let failed: string | undefined;
  try {
    for (const { file, data } of files) {
      failed = file;
      const tmp = aside(file, 'tmp');
      staged.push({ file, tmp, old: null });
      fs.writeFileSync(tmp, data);
    }
    for (const s of staged) {
      failed = s.file;
      if (fs.existsSync(s.file)) {
        const old = aside(s.file, 'old');
        keepCopy(s.file, old);
        s.old = old;
      }
      done.push(s);
      fs.renameSync(s.tmp, s.file);
    }
  } catch (e) {
    for (const s of done.reverse()) {
      if (s.old === null) fs.rmSync(s.file, { force: true });
      else {
        fs.renameSync(s.old, s.file);
        fs.rmSync(s.old, { force: true }); // still there if the target kept its old bytes: a rename onto the same file does nothing
      }
    }
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
    throw new RnncError(`${failed}: cannot write: ${(e as Error).message}`);
  }
  for (const s of staged) if (s.old !== null) fs.rmSync(s.old, { force: true });
}

/** Refuse to write `file` over one of `inputs` (the cell being compiled): an output never replaces what it was made from. */
export function checkNotInput(file: string, inputs: readonly string[]): void {
  const real = (f: string) => {
    try {
      return fs.realpathSync(f);
    } catch {
      return path.resolve(f);
    }
  };
  const target = real(file);
  for (const input of inputs) if (real(input) === target) throw new RnncError(`${file}: is the cell file being compiled; write the trainer to another file`);
}
