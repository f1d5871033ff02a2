/** The `rnnc` command line: compile, ir, dot, check. Errors print one clear line, no stack trace. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RnncError } from '../ir/error.ts';
import { commands } from './commands/index.ts';

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
    const { values, positionals } = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true } as ParseArgsConfig);
    if (values.help) {
      console.log(command.help);
      return 0;
    }
    return await command.run(values as Record<string, unknown>, positionals);
  } catch (e) {
    if (e instanceof RnncError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // one line: Node's parseArgs explains some mistakes over several
      console.error(`rnnc ${name}: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}`);
      return 1;
    }
    console.error(`rnnc ${name}: internal error: ${(e as Error).message}${process.env.RNNC_DEBUG ? `\n${(e as Error).stack}` : ' (set RNNC_DEBUG=1 for the stack)'}`);
    return 70;
  }
}
