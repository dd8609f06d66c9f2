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

/** The innermost message of a fetch failure ("fetch failed" hides the useful part in `cause`). */
export function describeCause(error: unknown): string {
  let current = error as { message?: string; cause?: unknown; code?: string } | undefined;
  let message = current?.message ?? String(error);
  while (current?.cause && typeof current.cause === 'object') {
    current = current.cause;
    if (current?.message) message = current.code ? `${current.message} (${current.code})` : current.message;
  }
  return message;
}
