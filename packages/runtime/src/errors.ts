import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/runtime, as a string-literal code. */
export type RuntimeErrorCode =
  /** An input (path, bundle, runtime.json, flag value) is invalid. */
  | 'INVALID_INPUT'
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
  /** The request carries no API key, or one the server does not take. */
  | 'UNAUTHORIZED'
  | 'MODEL_NOT_FOUND'
  | 'CONTEXT_EXCEEDED'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SHUTTING_DOWN'
  | 'UPSTREAM_FAILED';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<RuntimeErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'usage',
  VALIDATION_FAILED: 'check',
  WORKER_FAILED: 'environment',
  ENGINE_UNAVAILABLE: 'environment',
  SERVER_START_FAILED: 'environment',
  REQUEST_INVALID: 'input',
  UNAUTHORIZED: 'usage',
  MODEL_NOT_FOUND: 'input',
  CONTEXT_EXCEEDED: 'input',
  ROUTE_NOT_FOUND: 'usage',
  METHOD_NOT_ALLOWED: 'usage',
  BODY_TOO_LARGE: 'input',
  UNSUPPORTED_MEDIA_TYPE: 'input',
  SHUTTING_DOWN: 'environment',
  UPSTREAM_FAILED: 'environment',
};

/** The one error class of @alki/runtime. */
export class RuntimeError extends AlkiError<RuntimeErrorCode> {
  constructor(code: RuntimeErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}
