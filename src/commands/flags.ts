/**
 * The command line as flags and positionals: Node's parseArgs, plus what it lets through silently.
 * parseArgs keeps the last of a repeated flag (`--seq 4 --seq 8` is 8) and takes `--lr ''` as a
 * value, which Number() reads as 0: both are refused here, naming the flag as it was typed.
 */
import { parseArgs } from 'node:util';
import { RnncError } from '../../ir/error.ts';
import type { Options, Values } from './common.ts';

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];
type OptionToken = Extract<Token, { kind: 'option' }>;

export function parseFlags(args: readonly string[], options: Options): { values: Values; positionals: string[] } {
  const { values, positionals, tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true });
  const given = tokens.filter((t): t is OptionToken => t.kind === 'option');
  checkRepeats(given, options);
  checkEmpty(given);
  return { values: values as Values, positionals };
}

/** How a flag was typed, with its value: `--seq 4`, `-o a.ts`, `--forward`. */
const typed = (t: OptionToken) => (t.value === undefined ? t.rawName : `${t.rawName} ${t.value}`);

/** A flag given twice is a contradiction or a typo, unless it is one that binds a name each time (--size, --embed). */
function checkRepeats(given: readonly OptionToken[], options: Options): void {
  for (const t of given) {
    if (options[t.name]?.multiple) continue;
    const all = given.filter((u) => u.name === t.name);
    if (all.length > 1) throw new RnncError(`--${t.name}: given ${all.length === 2 ? 'twice' : `${all.length} times`} (${all.map(typed).join(', then ')}): give it once`);
  }
}

/** An empty value is no value: `--momentum ''` must not become 0, nor `-o ''` a file name. */
function checkEmpty(given: readonly OptionToken[]): void {
  const empty = given.find((t) => t.value !== undefined && t.value.trim() === '');
  if (empty) throw new RnncError(`--${empty.name}: empty value${empty.rawName === `--${empty.name}` ? '' : ` (${empty.rawName})`}`);
}
