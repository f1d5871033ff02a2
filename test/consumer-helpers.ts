/** Shared by the tests that use generated trainers as a project would (examples/consumers/). */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CONSUMERS = path.join(ROOT, 'examples/consumers');

/** Run a program to the end; a non-zero exit fails the test with what it printed. */
export function run(cmd: string, args: readonly string[], cwd: string, opts: SpawnSyncOptions = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', ...opts });
  const shown = `${[cmd, ...args].join(' ')} (in ${cwd})`;
  if (r.error) throw new Error(`${shown}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${shown} exited with ${r.status ?? r.signal}:\n${String(r.stdout)}\n${String(r.stderr)}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The `rnnc ...` arguments of an example's `build` script (so the tests compile as its README says). */
export function buildArgs(project: string, script = 'build'): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [bin, ...args] = pkg.scripts[script]!.split(' ');
  expect(bin).toBe('rnnc');
  return args;
}

/** Copy an example project (its own files, not a node_modules of a local try-out) into `to`. */
export function copyProject(name: string, to: string): string {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(path.join(CONSUMERS, name))) if (f !== 'node_modules') fs.cpSync(path.join(CONSUMERS, name, f), path.join(to, f), { recursive: true });
  return to;
}

/** The losses an example prints, one `step N: loss L` line each, in order. */
export function lossesOf(stdout: string): number[] {
  const losses = [...stdout.matchAll(/^step (\d+): loss (\S+)$/gm)].map((m, i) => {
    expect(Number(m[1])).toBe(i + 1);
    return Number(m[2]);
  });
  expect(losses.length, stdout).toBeGreaterThan(0);
  return losses;
}

/** Every loss finite and below the one before; by the end well below the start. */
export function expectFalling(losses: readonly number[]): void {
  for (const l of losses) expect(Number.isFinite(l), `losses ${losses.join(', ')}`).toBe(true);
  for (let i = 1; i < losses.length; i++) expect(losses[i], `losses ${losses.join(', ')}`).toBeLessThan(losses[i - 1]!);
  expect(losses.at(-1)!, `losses ${losses.join(', ')}`).toBeLessThan(0.8 * losses[0]!);
}

/** Start the example's server on a free port; resolves to its address once it prints it. */
export function serve(root: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['serve.mjs', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
      if (m) resolve({ url: m[1]!, stop: () => child.kill() });
    });
    child.stderr.on('data', (d: Buffer) => (out += String(d)));
    child.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}: ${out}`)));
  });
}
