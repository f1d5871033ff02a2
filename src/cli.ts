/** The `rnnc` command line: compile, ir, dot, check. Errors print one clear line, no stack trace. */
import { RnncError } from '../ir/error.ts';
import { parseFlags } from './commands/flags.ts';
import { commands } from './commands/index.ts';
import { unsettledLoad } from './load.ts';

const USAGE = `rnnc — a compiler for recurrent neural networks

usage: rnnc <command> <cell.ts> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

'rnnc <command> --help' shows a command's options.`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`rnnc: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    const { values, positionals } = parseFlags(rest, { ...command.options, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      console.log(command.help);
      return 0;
    }
    return await whileRunning(name, () => command.run(values, positionals));
  } catch (e) {
    return report(name, e);
  }
}

const isParseArgsError = (e: unknown): e is Error => e instanceof Error && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');

/** A user's mistake is one line and exit 1; anything else is rnnc's bug, exit 70. */
function report(name: string, e: unknown): number {
  if (e instanceof RnncError || isParseArgsError(e)) {
    // one line: Node's parseArgs explains some mistakes over several
    console.error(`rnnc ${name}: ${e.message.replace(/\s*\n\s*/g, ' ')}`);
    return 1;
  }
  // `throw null` from a dependency must still reach this line, not crash the handler
  const message = e instanceof Error ? e.message : `a non-Error was thrown: ${String(e)}`;
  const stack = e instanceof Error && process.env.RNNC_DEBUG ? `\n${e.stack}` : ' (set RNNC_DEBUG=1 for the stack)';
  console.error(`rnnc ${name}: internal error: ${message}${stack}`);
  return 70;
}

/**
 * Run a command, watching for the process to end while a cell file is still being imported: a
 * top-level await that never settles empties the event loop, and Node exits (code 13, or 0 in
 * the 'exit' event of Node 20) without a word. Other exits on the way (EPIPE) are left as they are.
 */
async function whileRunning(name: string, run: () => Promise<number>): Promise<number> {
  const onExit = () => {
    const load = unsettledLoad();
    if (load === undefined) return;
    console.error(`rnnc ${name}: ${load}`);
    process.exitCode = 1;
  };
  process.on('exit', onExit);
  try {
    return await run();
  } finally {
    process.off('exit', onExit);
  }
}
