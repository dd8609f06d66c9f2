import { describeSystemError, isAlkiError } from '@alki/errors';
import yargs from 'yargs';
import { commands, examples, type CommandEntry } from './commands/index.js';
import type { AlkiCommand } from './context.js';
import { interruptWasNormalStop, setCommandSignal } from './context.js';
import { CliError } from './errors.js';
import { EXIT_CODES, exitCodeForCategory } from './exit-codes.js';
import { blockedThreads, quitBySignal, quitWhenStuck } from './interrupt.js';
import { Output } from './output.js';
import { skipHelpCache } from './help-cache.js';
import { CLI_VERSION } from './version.js';

export interface MainOptions {
  /**
   * SIGINT and SIGTERM that arrived before main() ran (bin/alki.js catches
   * them while the CLI loads); they interrupt the command as if they came now.
   */
  pendingSignals?: NodeJS.Signals[];
  /**
   * The CLI's own process (bin/alki.js sets it): after an interrupt, a read stuck in the kernel cannot keep
   * the process alive (interrupt.ts). In-process callers leave it unset: it would end their process.
   */
  ownProcess?: boolean;
}

// A wrapper such as npx forwards to its child the signal the child's process
// group already got: two signals this close together are one interrupt.
const REPEAT_WINDOW_MS = 1000;

/**
 * Runs the CLI with the given arguments and resolves to the exit code. It
 * never throws: every failure becomes one clear line on stderr (and a JSON
 * error object on stdout with --json), with the stack only under --verbose.
 */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  const flags = {
    json: args.includes('--json'),
    quiet: args.includes('--quiet') || args.includes('-q'),
    verbose: args.includes('--verbose') || args.includes('-v'),
  };
  const out = new Output(flags);
  const controller = new AbortController();
  setCommandSignal(controller.signal);
  let firstInterrupt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstInterrupt !== undefined) {
      if (performance.now() - firstInterrupt <= REPEAT_WINDOW_MS) return;
      // process.exit() would wait for a thread blocked in the kernel; the signal's default action does not.
      if (options.ownProcess && blockedThreads().size > 0) quitBySignal(signal);
      process.exit(EXIT_CODES.interrupted);
    }
    firstInterrupt = performance.now();
    out.error(`Interrupted (${signal}); cleaning up. Press Ctrl-C again to quit at once.`);
    controller.abort(new Error(`interrupted by ${signal}`));
    if (options.ownProcess) quitWhenStuck(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const signal of options.pendingSignals ?? []) onSignal(signal);

  const parser = yargs(args)
    .scriptName('alki')
    .exitProcess(false)
    .usage('$0 <command> [options]\n\nHugging Face models to production llama.cpp deployment bundles.')
    .option('json', { type: 'boolean', default: false, describe: 'Print machine-readable JSON on stdout' })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe: 'Print only results and errors',
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: 'Print details, and stacks on errors',
    })
    .command(commands.map(lazyCommand))
    .example(examples)
    .demandCommand(1, 'Name a command; `alki --help` lists them.')
    .strict()
    .recommendCommands()
    .completion('completion', 'Print a shell completion script (bash or zsh): alki completion >> ~/.bashrc')
    .version(CLI_VERSION)
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .epilogue(
      'Exit codes: 0 ok, 1 a check failed, 2 usage, 3 input invalid, 4 network or registry, 5 local environment, 130 interrupted. Docs: docs/cli.md',
    )
    .fail((message, error) => {
      // A command's own failure arrives as an Error; a .check() that returns
      // a sentence arrives as that string, and is a usage failure like yargs' own.
      if (error instanceof Error) throw error;
      throw new CliError('USAGE', message, { hint: 'Run `alki --help` for usage.' });
    });

  skipHelpCache(parser);

  try {
    await parser.parseAsync();
    return controller.signal.aborted && !interruptWasNormalStop()
      ? EXIT_CODES.interrupted
      : Number(process.exitCode ?? 0);
  } catch (error) {
    return reportError(error, out, flags.verbose, controller.signal.aborted);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// A command yargs can list, whose options and handler load on first use: yargs runs
// a builder only for the command being run (or asked for --help), and awaits it.
function lazyCommand(entry: CommandEntry): AlkiCommand {
  let body: ReturnType<CommandEntry['load']> | undefined;
  const load = () => (body ??= entry.load());
  return {
    command: entry.command,
    describe: entry.describe,
    builder: async (y) => (await load()).builder(y),
    handler: async (argv) => {
      await (await load()).handler(argv);
    },
  };
}

function reportError(error: unknown, out: Output, verbose: boolean, aborted: boolean): number {
  if (aborted && !(error instanceof CliError)) {
    // A service stopped while it was starting has stopped as it was asked to.
    if (interruptWasNormalStop()) return EXIT_CODES.ok;
    out.error('Interrupted; nothing was left half-written.');
    return EXIT_CODES.interrupted;
  }
  let code: number;
  let payload: Record<string, unknown>;
  if (isAlkiError(error)) {
    out.error(`error: ${error.message}`);
    if (error.hint) out.error(`hint: ${error.hint}`);
    code = exitCodeForCategory(error.category);
    payload = error.toJSON();
  } else {
    const system = describeSystemError(error);
    if (system) {
      out.error(`error: ${system.message}`);
      code = exitCodeForCategory(system.category);
      payload = { code: system.code, category: system.category, message: system.message };
    } else {
      const message = error instanceof Error ? error.message : String(error);
      out.error(`internal error: ${message}`);
      if (!verbose)
        out.error('This is a bug in alki. Run again with --verbose for the stack, and report it.');
      code = EXIT_CODES.internal;
      payload = { code: 'INTERNAL', category: 'internal', message };
    }
  }
  if (verbose && error instanceof Error && error.stack) out.error(error.stack);
  if (out.json) out.result({ error: payload }, () => '');
  return code;
}
