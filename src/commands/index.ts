import type { Command } from './common.ts';
import { checkCommand } from './check.ts';
import { compileCommand } from './compile.ts';
import { irCommand } from './ir.ts';
import { scheduleCommand } from './schedule.ts';

/** Every rnnc command, by name. */
export const commands: Record<string, Command> = {
  compile: compileCommand,
  ir: irCommand,
  schedule: scheduleCommand,
  dot: (await import('./dot.ts')).dotCommand,
  check: checkCommand,
};
