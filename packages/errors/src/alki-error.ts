/**
 * What kind of failure an error is. The CLI turns a category into an exit
 * code in exactly one place (apps/cli/src/exit-codes.ts), so packages never
 * think about exit codes.
 */
export type ErrorCategory =
  /** The user asked for something that cannot be done as asked (bad flag, missing argument). */
  | 'usage'
  /** An input (file, model, bundle, manifest) is invalid or unsupported. */
  | 'input'
  /** A check ran and failed: a hash mismatch, a model that does not generate, a test that failed. */
  | 'check'
  /** The network, a hub or a registry failed or refused. */
  | 'network'
  /** A local resource failed: disk full, permission denied, a missing tool. */
  | 'environment'
  /** A bug in Alki. */
  | 'internal';

export interface AlkiErrorOptions {
  cause?: unknown;
  /** Data a program may want: offsets, paths, digests, URLs. */
  details?: Record<string, unknown>;
  /** One sentence that tells the user what to do next. */
  hint?: string;
  /** Overrides the category the subclass gives the code by default. */
  category?: ErrorCategory;
}

/**
 * The base of every Alki package's error class. Each package declares one
 * subclass with a string-literal union of codes and the category each code has
 * by default; a call site passes `category` only to override it. Every error
 * is built the same way: `new XError(code, message, { category?, hint?, cause?, details? })`.
 *
 * @example
 * type GgufErrorCode = 'BAD_MAGIC' | 'TRUNCATED';
 * const CATEGORIES: Record<GgufErrorCode, ErrorCategory> = { BAD_MAGIC: 'input', TRUNCATED: 'input' };
 * class GgufError extends AlkiError<GgufErrorCode> {
 *   constructor(code: GgufErrorCode, message: string, options: AlkiErrorOptions = {}) {
 *     super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
 *   }
 * }
 */
export class AlkiError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly category: ErrorCategory;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: Code, message: string, options: AlkiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    // A subclass always supplies one; a bare AlkiError without one is a bug.
    this.category = options.category ?? 'internal';
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  /** A plain object for `--json` output and logs. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      category: this.category,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(Object.keys(this.details).length ? { details: this.details } : {}),
    };
  }
}

/** True for any Alki package's error, across duplicated module copies too. */
export function isAlkiError(value: unknown): value is AlkiError {
  return (
    value instanceof AlkiError ||
    (value instanceof Error &&
      typeof (value as Partial<AlkiError>).code === 'string' &&
      typeof (value as Partial<AlkiError>).category === 'string')
  );
}
