import type { ErrorCategory } from '@alki/errors';

/**
 * The one place where failures become exit codes. docs/cli.md documents the
 * table; change both together.
 */
export const EXIT_CODES = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  inputInvalid: 3,
  network: 4,
  environment: 5,
  internal: 70,
  interrupted: 130,
} as const;

export function exitCodeForCategory(category: ErrorCategory): number {
  switch (category) {
    case 'check':
      return EXIT_CODES.checkFailed;
    case 'usage':
      return EXIT_CODES.usage;
    case 'input':
      return EXIT_CODES.inputInvalid;
    case 'network':
      return EXIT_CODES.network;
    case 'environment':
      return EXIT_CODES.environment;
    case 'internal':
      return EXIT_CODES.internal;
  }
}
