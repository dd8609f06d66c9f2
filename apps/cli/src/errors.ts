import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/**
 * The CLI's own failures: a command line that cannot run as written (an unknown command or flag, a missing
 * argument, a flag value or a combination of flags a command refuses). Libraries' errors pass through as
 * they are; a command checks its flags with this class, never with a library's.
 */
export type CliErrorCode = 'USAGE' | 'NOT_A_FILE';

const CATEGORIES: Record<CliErrorCode, ErrorCategory> = {
  USAGE: 'usage',
  // A flag names something that is not a regular file (a FIFO, a socket, a device, a directory): exit 3.
  NOT_A_FILE: 'input',
};

export class CliError extends AlkiError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
