import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Site } from '../../ir/error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const rnncRoot = path.resolve(here, '../..');
const internal = [path.join(rnncRoot, 'src') + path.sep, path.join(rnncRoot, 'ir') + path.sep];

/** The first stack frame outside rnnc's own front end and IR: the line in the user's cell file. */
export function callerSite(): Site | undefined {
  const stack = new Error().stack?.split('\n') ?? [];
  for (const line of stack.slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (!path.isAbsolute(file) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (internal.some((p) => file.startsWith(p))) continue;
    return { file: path.relative(process.cwd(), file) || file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
