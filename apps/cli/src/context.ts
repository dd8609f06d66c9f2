import type { ArgumentsCamelCase, Argv } from 'yargs';
import { Output } from './output.js';

export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** What every command handler gets besides its arguments. */
export interface CommandContext {
  out: Output;
  /** Aborted on SIGINT or SIGTERM: pass it to every library call that takes one. */
  signal: AbortSignal;
  /**
   * For long-running services (`alki serve`): a SIGINT or SIGTERM is how they
   * are meant to stop, so a clean shutdown after one exits 0, not 130.
   */
  interruptIsNormalStop: () => void;
}

let currentSignal: AbortSignal = new AbortController().signal;
let interruptStopsNormally = false;

/** main() installs the process-wide signal before yargs runs a handler. */
export function setCommandSignal(signal: AbortSignal): void {
  currentSignal = signal;
  interruptStopsNormally = false;
}

/** Whether the command that ran declared an interrupt its normal way to stop. */
export function interruptWasNormalStop(): boolean {
  return interruptStopsNormally;
}

/**
 * Wraps a handler so it receives an Output configured from the global flags
 * and the interrupt signal. Errors propagate to main(), which maps them to
 * exit codes in one place.
 */
export function withContext<T extends GlobalOptions>(
  handler: (argv: ArgumentsCamelCase<T>, context: CommandContext) => Promise<void> | void,
  // yargs types a module's handler loosely; the builder guarantees T's shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
): (argv: ArgumentsCamelCase<any>) => Promise<void> {
  return async (argv) => {
    const out = new Output({
      json: Boolean(argv.json),
      quiet: Boolean(argv.quiet),
      verbose: Boolean(argv.verbose),
    });
    const interruptIsNormalStop = () => {
      interruptStopsNormally = true;
    };
    await handler(argv as ArgumentsCamelCase<T>, { out, signal: currentSignal, interruptIsNormalStop });
  };
}

/** A yargs command module whose own arguments extend the global flags. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command narrows its own arguments in withContext
export type AlkiCommand = import('yargs').CommandModule<GlobalOptions, any>;

/** A top-level command without its name and description, which commands/index.ts holds so help loads nothing. */
export interface AlkiCommandBody {
  builder: (y: Argv<GlobalOptions>) => Argv<unknown>;
  handler: AlkiCommand['handler'];
}
