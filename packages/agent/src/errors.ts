import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/agent itself, as a string-literal code. Registry failures come from @alki/oci. */
export type AgentErrorCode =
  /** A channel, option or directory that cannot be used as given. */
  | 'INVALID_INPUT'
  /** The new bundle would not fit on the disk beside the slots kept. */
  | 'NO_SPACE'
  /** A downloaded bundle is not trusted under the policy, or its files do not verify. */
  | 'UNTRUSTED_BUNDLE'
  /** The server did not answer /health and one completion within the deadline. */
  | 'HEALTH_CHECK_FAILED'
  /** The service manager could not start, stop or restart the server. */
  | 'SERVICE_FAILED'
  /** Another agent holds the agent directory. */
  | 'LOCKED'
  /** The work was interrupted (AbortSignal). */
  | 'ABORTED';

const DEFAULT_CATEGORY: Record<AgentErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'usage',
  NO_SPACE: 'environment',
  UNTRUSTED_BUNDLE: 'check',
  HEALTH_CHECK_FAILED: 'check',
  SERVICE_FAILED: 'environment',
  LOCKED: 'usage',
  ABORTED: 'environment',
};

/** The one error class of @alki/agent. */
export class AgentError extends AlkiError<AgentErrorCode> {
  constructor(code: AgentErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? DEFAULT_CATEGORY[code] });
  }
}
