import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Site } from '../../ir/error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const rnncRoot = path.resolve(here, '../..');
const internal = [path.join(rnncRoot, 'src') + path.sep, path.join(rnncRoot, 'ir') + path.sep];

/** The first stack frame outside rnnc's own front end and IR: the line in the user's cell file. */
export function callerSite(): Site | undefined {
  for (const line of new Error().stack?.split('\n').slice(1) ?? []) {
    const site = frameSite(line);
    if (typeof site === 'object') return site;
  }
  return undefined;
}

/**
 * Where a cell's own code threw `e`: its innermost frame in a file, when that file is a cell's
 * (frames of Node and of libraries pass through: they were called from somewhere). Undefined when
 * rnnc's own code threw it: then it is rnnc's bug, and no error of the cell's.
 */
export function thrownSite(e: Error): Site | undefined {
  for (const line of e.stack?.split('\n') ?? []) {
    if (!line.trim().startsWith('at ')) continue;
    const site = frameSite(line);
    if (site === 'rnnc') return undefined;
    if (typeof site === 'object') return site;
  }
  return undefined;
}

/** One `    at f (file:line:col)` line: a site in a user's file, rnnc's own code, or neither (Node, a library, native code). */
function frameSite(line: string): Site | 'rnnc' | 'other' {
  const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/.exec(line.trim());
  if (!m) return 'other';
  const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
  if (!path.isAbsolute(file) || file.includes(`${path.sep}node_modules${path.sep}`)) return 'other';
  if (internal.some((p) => file.startsWith(p))) return 'rnnc';
  return { file: path.relative(process.cwd(), file) || file, line: Number(m[2]), column: Number(m[3]) };
}
