import { getMetadata, openGguf, type GgufFile } from '@alki/gguf-reader';
import { isAlkiError } from '@alki/errors';
import type { CheckResult } from './report.js';

// Hyperparameters llama.cpp reads for every transformer architecture
// (src/llama-model.cpp, load_hparams: LLM_KV_CONTEXT_LENGTH, EMBEDDING_LENGTH,
// BLOCK_COUNT, FEED_FORWARD_LENGTH, ATTENTION_HEAD_COUNT). A missing one
// makes llama.cpp assert and abort the process.
const REQUIRED_HPARAMS = [
  'context_length',
  'embedding_length',
  'block_count',
  'feed_forward_length',
  'attention.head_count',
];

/**
 * Checks a parsed GGUF header for what a loader needs before any native code
 * touches it. Pure: gets the parsed file, returns the check result.
 */
export function checkGgufStructure(file: GgufFile): CheckResult {
  const architecture = getMetadata(file, 'general.architecture');
  const details: Record<string, unknown> = {
    version: file.version,
    tensors: file.tensors.length,
    metadataKeys: file.metadata.length,
  };
  if (typeof architecture !== 'string' || !architecture) {
    return {
      name: 'structure',
      status: 'fail',
      message: 'general.architecture is missing, so no loader knows how to read the model.',
      details,
    };
  }
  details.architecture = architecture;
  if (file.tensors.length === 0)
    return { name: 'structure', status: 'fail', message: 'The file has no tensors.', details };
  if (getMetadata(file, 'tokenizer.ggml.model') === undefined) {
    return {
      name: 'structure',
      status: 'fail',
      message: 'tokenizer.ggml.model is missing: the file has no tokenizer.',
      details,
    };
  }
  const missing = REQUIRED_HPARAMS.map((key) => `${architecture}.${key}`).filter(
    (key) => getMetadata(file, key) === undefined,
  );
  if (missing.length) {
    // Not a failure by itself: some architectures name these differently.
    // The load check in the child process gives llama.cpp's verdict.
    details.missingHyperparameters = missing;
    return {
      name: 'structure',
      status: 'pass',
      message: `The header parses, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing; llama.cpp may refuse the model.`,
      details,
    };
  }
  return {
    name: 'structure',
    status: 'pass',
    message: `GGUF v${file.version}, ${architecture}, ${file.tensors.length} tensors; every tensor lies inside the file.`,
    details,
  };
}

/** Reads the header of a GGUF path and checks it; a parse error is a failed check, not a throw. */
export async function checkGgufFile(path: string): Promise<CheckResult> {
  const started = performance.now();
  try {
    const result = checkGgufStructure(await openGguf(path));
    return { ...result, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    if (!isAlkiError(error)) throw error;
    return {
      name: 'structure',
      status: 'fail',
      message: error.message,
      details: { code: error.code, ...error.details },
      durationMs: Math.round(performance.now() - started),
    };
  }
}
