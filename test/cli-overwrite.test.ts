/** An output never replaces an input (issue 13): `rnnc compile cell.ts -o cell.ts` is refused, the cell untouched. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('rnnc compile onto its own cell file', () => {
  it.each([['cell.ts', 'cell.ts'], ['cell.mts', 'cell.mts'], ['a link to the cell', 'link.ts']])('%s: exit 1, one line, the cell unchanged', (_what, outName) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-overwrite-'));
    try {
      const cellFile = path.join(dir, outName === 'cell.mts' ? 'cell.mts' : 'cell.ts');
      const text = fs.readFileSync('examples/cells/elman.ts', 'utf8').replace("'../../src/dsl/index.ts'", JSON.stringify(path.resolve('src/dsl/index.ts')));
      fs.writeFileSync(cellFile, text);
      if (outName === 'link.ts') fs.symlinkSync(cellFile, path.join(dir, 'link.ts'));
      const r = spawnSync('node', ['bin/rnnc.mjs', 'compile', cellFile, '-o', path.join(dir, outName)], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/is the cell file being compiled; write the trainer to another file/);
      expect(fs.readFileSync(cellFile, 'utf8')).toBe(text);
      expect(fs.readdirSync(dir).sort()).toEqual(outName === 'link.ts' ? ['cell.ts', 'link.ts'] : [path.basename(cellFile)]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
