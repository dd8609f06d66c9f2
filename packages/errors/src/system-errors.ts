import type { ErrorCategory } from './alki-error.js';

// Node's system error codes that say something about the machine rather than
// about Alki, with the sentence a user can act on.
const SYSTEM_ERRORS: Record<string, { category: ErrorCategory; sentence: string }> = {
  ENOSPC: { category: 'environment', sentence: 'the disk is full' },
  EDQUOT: { category: 'environment', sentence: 'the disk quota is exhausted' },
  EACCES: { category: 'environment', sentence: 'permission denied' },
  EPERM: { category: 'environment', sentence: 'operation not permitted' },
  EROFS: { category: 'environment', sentence: 'the file system is read-only' },
  ENOENT: { category: 'input', sentence: 'no such file or directory' },
  ENOTDIR: { category: 'input', sentence: 'a path component is not a directory' },
  EISDIR: { category: 'input', sentence: 'expected a file but found a directory' },
  ELOOP: { category: 'input', sentence: 'a symbolic link loops back on itself' },
  ENXIO: { category: 'input', sentence: 'not a regular file (a socket or a device with nothing behind it)' },
  EMFILE: { category: 'environment', sentence: 'too many open files' },
  ECONNREFUSED: { category: 'network', sentence: 'the connection was refused' },
  ECONNRESET: { category: 'network', sentence: 'the connection was reset' },
  ETIMEDOUT: { category: 'network', sentence: 'the connection timed out' },
  ENOTFOUND: { category: 'network', sentence: 'the host name could not be resolved' },
  EAI_AGAIN: { category: 'network', sentence: 'the host name could not be resolved' },
};

/** Describes a Node system error (ENOSPC, EACCES, ...) in the words a user needs, or undefined. */
export function describeSystemError(
  error: unknown,
): { code: string; category: ErrorCategory; message: string } | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !(code in SYSTEM_ERRORS)) return undefined;
  const { category, sentence } = SYSTEM_ERRORS[code];
  const where = (error as NodeJS.ErrnoException).path;
  return { code, category, message: where ? `${sentence}: ${where}` : sentence };
}

/** An error and its causes, outermost first: `error`, `error.cause`, `error.cause.cause`, ... */
export function causeChain(error: unknown): Array<{ message?: string; code?: unknown; cause?: unknown }> {
  const chain: Array<{ message?: string; code?: unknown; cause?: unknown }> = [];
  let current = error;
  while (current && typeof current === 'object') {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** The innermost message of a fetch failure ("fetch failed" hides the useful part in `cause`). */
export function describeCause(error: unknown): string {
  const [outer, ...causes] = causeChain(error);
  let message = outer?.message ?? String(error);
  for (const cause of causes)
    if (cause.message)
      message = typeof cause.code === 'string' ? `${cause.message} (${cause.code})` : cause.message;
  return message;
}
