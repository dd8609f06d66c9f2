import { AlkiError, type AlkiErrorOptions } from '@alki/errors';

/** Every failure of @alki/hub, as a string-literal code. */
export type HubErrorCode =
  /** `org/name` is not a valid repo id. */
  | 'INVALID_REPO_ID'
  /** A token that the hub client refuses (it must start with `hf_`). */
  | 'INVALID_TOKEN'
  /** A file name from the repo or the caller that would escape the cache. */
  | 'UNSAFE_PATH'
  /** 401: no token, a bad token, or a private repo the token cannot see. */
  | 'UNAUTHORIZED'
  /** 401/403 on a gated repo: the license has not been accepted for this token. */
  | 'GATED'
  /** 403 for another reason. */
  | 'FORBIDDEN'
  | 'REPO_NOT_FOUND'
  | 'REVISION_NOT_FOUND'
  | 'FILE_NOT_FOUND'
  /** A `--filename` glob matched no file. */
  | 'NO_MATCH'
  /** A `--filename` glob matched more than one file. */
  | 'AMBIGUOUS_MATCH'
  /** A split GGUF model lacks some of its shards in the repo. */
  | 'MISSING_SHARDS'
  /** The downloaded bytes do not have the size or hash the hub advertised. */
  | 'INTEGRITY_MISMATCH'
  /** The hub answered something the client cannot use (bad status, bad headers). */
  | 'BAD_RESPONSE'
  /** The connection failed or dropped. */
  | 'NETWORK'
  /** The cache folder cannot be written (full disk, permissions); the category is the system error's. */
  | 'CACHE_WRITE_FAILED'
  /** Offline mode, and the cache does not hold what was asked for. */
  | 'NOT_IN_CACHE'
  /** The caller's signal aborted the work. */
  | 'ABORTED'
  /** A model argument names no local file or directory, and cannot be a repo id. */
  | 'TARGET_NOT_FOUND'
  /** A model argument is a FIFO, socket or device: reading one could block forever. */
  | 'NOT_A_REGULAR_FILE'
  /** A model argument is of a kind the command does not take (a URL to `pack`, say). */
  | 'UNSUPPORTED_TARGET';

const INPUT_CODES: ReadonlySet<HubErrorCode> = new Set([
  'INVALID_REPO_ID',
  'INVALID_TOKEN',
  'UNSAFE_PATH',
  'REPO_NOT_FOUND',
  'REVISION_NOT_FOUND',
  'FILE_NOT_FOUND',
  'NO_MATCH',
  'AMBIGUOUS_MATCH',
  'MISSING_SHARDS',
  'TARGET_NOT_FOUND',
  'NOT_A_REGULAR_FILE',
  'UNSUPPORTED_TARGET',
]);

/**
 * The one error class of @alki/hub. The category follows from the code:
 * what the user named wrongly is `input`, what the hub or the wire did is `network`.
 */
export class HubError extends AlkiError<HubErrorCode> {
  constructor(code: HubErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, {
      ...options,
      category: options.category ?? (INPUT_CODES.has(code) ? 'input' : 'network'),
    });
  }
}
