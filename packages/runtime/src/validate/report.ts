/** The checks `alki validate` runs on a model, in order. */
export type CheckName =
  'structure' | 'load' | 'tokenizer' | 'chat-template' | 'generation' | 'score' | 'hash' | 'vision';

export interface ValidationCheck {
  name: CheckName;
  status: 'pass' | 'fail' | 'skip';
  /** What was seen, in one sentence: the reason for a failure or a skip. */
  message: string;
  durationMs?: number;
  details?: Record<string, unknown>;
}

/** Speed and resource figures measured while validating a model. */
export interface ModelMetrics {
  loadMs?: number;
  promptTokens?: number;
  promptTokensPerSecond?: number;
  generatedTokens?: number;
  generationTokensPerSecond?: number;
  /** Mean negative log-likelihood per token (nats) of the built-in text, with --score. */
  meanNll?: number;
  perplexity?: number;
  /** Peak resident memory of the process that loaded the model, in bytes. */
  peakRssBytes?: number;
}

/** The validation of one GGUF file. */
export interface ModelReport {
  file: string;
  ok: boolean;
  checks: ValidationCheck[];
  metrics: ModelMetrics;
  /** The text the short generation produced. */
  sample?: string;
}

/** What `validate` returns for a GGUF, a bundle or a hub download. */
export interface ValidationReport {
  target: string;
  kind: 'gguf' | 'bundle' | 'hub';
  ok: boolean;
  models: ModelReport[];
  /** Checks on the bundle itself (artifact hashes against the manifest). */
  checks: ValidationCheck[];
}

/** The first failed check of a report, for the one-line error. */
export function firstFailure(
  report: ValidationReport,
): { file?: string; check: ValidationCheck } | undefined {
  const own = report.checks.find((c) => c.status === 'fail');
  if (own) return { check: own };
  for (const model of report.models) {
    const check = model.checks.find((c) => c.status === 'fail');
    if (check) return { file: model.file, check };
  }
  return undefined;
}
