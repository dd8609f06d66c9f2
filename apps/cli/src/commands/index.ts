import type { AlkiCommand } from '../context.js';
import { toolsCommand } from './tools.js';

// Every top-level command, in the order `alki --help` lists them. Each
// command file only parses arguments and calls a library.
export const commands: AlkiCommand[] = [toolsCommand];

// One example per command group, shown by `alki --help`.
export const examples: Array<[command: string, description: string]> = [
  ['$0 tools build', 'Build the native llama.cpp tools from the bundled source (once, cached)'],
];
