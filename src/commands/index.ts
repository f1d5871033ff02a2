import type { Command } from './common.ts';
import { irCommand } from './ir.ts';

/** Every rnnc command, by name. */
export const commands: Record<string, Command> = {
  ir: irCommand,
};
