/**
 * Errors in cell files: an RnncError whose message names the cell file and the line where the
 * offending value was created, the op, and the shapes or names involved; the CLI prints the same
 * message and exits non-zero without a stack trace. Each bad cell lives in test/cells/bad/ and
 * marks the line the error must point at with `// ← error` (the test reads the line from there).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RnncError } from '../ir/error.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { loadCell } from '../src/load.ts';

const DIR = 'test/cells/bad';

/** The 1-based line of the one line in `file` that carries `// ← <tag>`. */
function markedLine(file: string, tag: string): number {
  const lines = fs.readFileSync(path.join(DIR, file), 'utf8').split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(`// ← ${tag}`) ? [i + 1] : []));
  expect(hits, `${file}: one '// ← ${tag}' marker`).toHaveLength(1);
  return hits[0]!;
}

interface Case {
  readonly what: string;
  readonly file: string;
  /** Size bindings, as the library takes them and as `--size NAME=N` flags. */
  readonly sizes?: Readonly<Record<string, number>>;
  readonly mentions: (file: string) => readonly string[];
}

const cases: readonly Case[] = [
  { what: 'shape mismatch in an op: [4H] + [H]', file: 'add-shape.ts', mentions: () => ['add:', '[12]', '[3]'] },
  { what: 'mv with the wrong inner size', file: 'mv-inner.ts', mentions: () => ['mv:', '[3, 4]', '[2]'] },
  { what: 'reading an undeclared size in the step', file: 'unknown-size-read.ts', mentions: () => ["unknown size 'Q'", "'unknown_read'", 'X, H, Y'] },
  { what: 'binding an undeclared size', file: 'bind-sizes.ts', sizes: { Q: 3 }, mentions: () => ["unknown size 'Q'", "'bind_sizes'", 'X, H, Y'] },
  { what: 'a size declared null and not bound', file: 'unbound-size.ts', mentions: () => ["size 'H' is not bound", '--size H=N'] },
  { what: 'a duplicate name', file: 'duplicate-name.ts', mentions: (f) => ["duplicate name 'h'", `first declared at ${DIR}/${f}:${markedLine(f, 'first')}`] },
  { what: 'a name rnnc reserves for its own values', file: 'reserved-name.ts', mentions: () => ["name 'output' is reserved"] },
  { what: 'a parameter that does not reach the loss', file: 'param-unused.ts', mentions: () => ["parameter 'unused'", '[3]', 'does not reach the loss'] },
  { what: 'a state the step never updates', file: 'state-not-updated.ts', mentions: () => ["state 'c'", 'never updated'] },
  { what: 'a state updated with the wrong shape', file: 'state-wrong-shape.ts', mentions: () => ["state 'h'", '[3]', '[6]'] },
  { what: 'a step whose output is not a tensor', file: 'output-not-tensor.ts', mentions: () => ["'not_tensor'", 'output', 'number 42', 'not a tensor'] },
  { what: 'a size declared as zero', file: 'size-zero.ts', mentions: () => ["size 'H'", 'positive integer', 'got 0'] },
  { what: 'a size bound to zero', file: 'bind-sizes.ts', sizes: { H: 0 }, mentions: () => ["size 'H'", 'positive integer', 'got 0'] },
  { what: 'a size bound to a negative number', file: 'bind-sizes.ts', sizes: { H: -1 }, mentions: () => ["size 'H'", 'positive integer', 'got -1'] },
  { what: 'a size bound to a fraction', file: 'bind-sizes.ts', sizes: { H: 2.5 }, mentions: () => ["size 'H'", 'positive integer', 'got 2.5'] },
];

async function traceError(c: Case): Promise<RnncError> {
  const def = await loadCell(path.join(DIR, c.file));
  try {
    traceCell(def, { sizes: c.sizes });
  } catch (e) {
    expect(e).toBeInstanceOf(RnncError);
    return e as RnncError;
  }
  throw new Error(`${c.file}: traced without an error`);
}

// ── the CLI, as a child process. Each run costs about a second of CPU (tsx and the compiler's
// imports), so the runs start together, one per core, and each case awaits its own.

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const cliEnv = { ...process.env };
delete cliEnv.RNNC_DEBUG; // with it set, internal errors print their stack

function rnnc(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/rnnc.mjs', ...args], { encoding: 'utf8', env: cliEnv }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
}

/** Run `jobs` with at most `n` at a time. */
function pool<T>(jobs: readonly (() => Promise<T>)[], n: number): Promise<T>[] {
  let next = 0;
  const results = jobs.map(() => {
    let resolve!: (v: T) => void;
    return { promise: new Promise<T>((r) => (resolve = r)), resolve: (v: T) => resolve(v) };
  });
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i]!.resolve(await jobs[i]!());
    }
  };
  for (let k = 0; k < Math.min(n, jobs.length); k++) void worker();
  return results.map((r) => r.promise);
}

const cliArgs = (c: Case) => ['ir', `${DIR}/${c.file}`, ...Object.entries(c.sizes ?? {}).flatMap(([k, v]) => ['--size', `${k}=${v}`])];
let cliRuns: CliRun[] = [];
beforeAll(async () => {
  cliRuns = await Promise.all(pool([...cases.map((c) => () => rnnc(cliArgs(c))), () => rnnc(['ir', `${DIR}/nope.ts`])], os.availableParallelism()));
}, 120_000);

describe.each(cases.map((c, i) => [c.what, c, i] as const))('%s', (_, c, i) => {
  it('is an RnncError at the offending line, naming the op and the shapes or names', async () => {
    const err = await traceError(c);
    const line = markedLine(c.file, 'error');
    expect(err.site).toMatchObject({ file: `${DIR}/${c.file}`, line });
    expect(err.message).toMatch(new RegExp(`^${DIR}/${c.file.replace('.', '\\.')}:${line}:\\d+: `));
    for (const m of c.mentions(c.file)) expect(err.message).toContain(m);
  });

  it(`the CLI (rnnc ${cliArgs(c).join(' ')}) prints the same message and exits non-zero, without a stack trace`, async () => {
    const err = await traceError(c);
    const r = cliRuns[i]!;
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rnnc ir: ${err.message}\n`);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('    at '))).toEqual([]);
  });
});

describe('cell files that are not cells', () => {
  it('a missing file and a file without a cell are RnncErrors, also from the CLI', async () => {
    await expect(loadCell(`${DIR}/nope.ts`)).rejects.toThrow(`${DIR}/nope.ts: no such file`);
    await expect(loadCell('test/helpers.ts')).rejects.toThrow(/the default export must be a cell/);
    const r = cliRuns[cases.length]!;
    expect([r.status, r.stderr]).toEqual([1, `rnnc ir: ${DIR}/nope.ts: no such file\n`]);
  });
});
