import type { AlkiCommand } from '../context.js';
import { serveCommand } from './serve.js';
import { toolsCommand } from './tools.js';
import { validateCommand } from './validate.js';

// Every top-level command, in the order `alki --help` lists them. Each
// command file only parses arguments and calls a library.
export const commands: AlkiCommand[] = [toolsCommand, validateCommand, serveCommand];

// One example per command group, shown by `alki --help`.
export const examples: Array<[command: string, description: string]> = [
  ['$0 tools build', 'Build the native llama.cpp tools from the bundled source (once, cached)'],
  ['$0 validate model.gguf --score', 'Prove a model loads, tokenizes and generates; report tokens/s and memory'],
  ['$0 serve model.gguf --port 8080', 'Serve a model with an OpenAI-compatible API and Prometheus /metrics'],
];
