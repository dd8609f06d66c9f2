import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/runtime, as a string-literal code. */
export type RuntimeErrorCode =
  /** An input (path, bundle, runtime.json, flag value) is invalid. */
  | 'INVALID_INPUT'
  /** A model, bundle or file does not exist. */
  | 'NOT_FOUND'
  /** One or more validation checks failed; `details.report` holds the report. */
  | 'VALIDATION_FAILED'
  /** The validation child process could not be started or talked to. */
  | 'WORKER_FAILED'
  /** No engine can run: llama-server missing, node-llama-cpp unusable. */
  | 'ENGINE_UNAVAILABLE'
  /** llama-server started but never became healthy, or the port is taken. */
  | 'SERVER_START_FAILED'
  // HTTP request errors of the OpenAI-compatible servers. httpStatusFor maps them to a status.
  | 'REQUEST_INVALID'
  | 'MODEL_NOT_FOUND'
  | 'CONTEXT_EXCEEDED'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'SHUTTING_DOWN'
  | 'UPSTREAM_FAILED';

/** The one error class of @alki/runtime. */
export class RuntimeError extends AlkiError<RuntimeErrorCode> {
  constructor(code: RuntimeErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}
