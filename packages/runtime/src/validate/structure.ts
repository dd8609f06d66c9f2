import { getMetadata, openGguf, type GgufFile } from '@alki/gguf-reader';
import { isAlkiError } from '@alki/errors';
import type { ValidationCheck } from './report.js';

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

/** `<0x0A>`: SentencePiece's byte-fallback piece for a byte. */
function bytePiece(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/**
 * The bytes a SentencePiece vocabulary (tokenizer.ggml.model = llama) cannot
 * encode. llama.cpp writes a character it has no piece for as byte-fallback
 * tokens, and aborts the whole process when one is missing
 * (src/llama-vocab.cpp, llama_vocab::byte_to_token, whose token_to_id.at()
 * throws std::out_of_range): a server dies on the first request with such a
 * character. A one-character piece stands in for an ASCII byte, as there.
 * Empty for other tokenizers, which skip what they cannot encode. Pure.
 */
export function missingByteFallbacks(file: Pick<GgufFile, 'metadata'>): number[] {
  if (getMetadata(file, 'tokenizer.ggml.model') !== 'llama') return [];
  const tokens = getMetadata(file, 'tokenizer.ggml.tokens');
  if (!tokens || typeof tokens !== 'object' || !('items' in tokens)) return [];
  const pieces = new Set(tokens.items.filter((item): item is string => typeof item === 'string'));
  const missing: number[] = [];
  for (let byte = 0; byte < 0x100; byte++) {
    if (pieces.has(bytePiece(byte))) continue;
    if (byte < 0x80 && pieces.has(String.fromCharCode(byte))) continue;
    missing.push(byte);
  }
  return missing;
}

/** `<0x80>` to `<0xFF>`, `<0x0A>`, ...: missing bytes as runs, for a message. */
function describeBytes(bytes: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < bytes.length;) {
    let end = i;
    while (end + 1 < bytes.length && bytes[end + 1] === bytes[end] + 1) end++;
    runs.push(end === i ? bytePiece(bytes[i]) : `${bytePiece(bytes[i])} to ${bytePiece(bytes[end])}`);
    i = end + 1;
  }
  return runs.join(', ');
}

/**
 * Checks a parsed GGUF header for what a loader needs before any native code
 * touches it. Pure: gets the parsed file, returns the check result.
 */
export function checkGgufStructure(file: GgufFile): ValidationCheck {
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
  const bytes = missingByteFallbacks(file);
  if (bytes.length) {
    return {
      name: 'structure',
      status: 'fail',
      message: `The SentencePiece vocabulary has no byte-fallback token for ${bytes.length} byte${bytes.length === 1 ? '' : 's'} (${describeBytes(bytes)}): llama.cpp aborts the process (std::out_of_range) on any text that needs one${bytes.every((b) => b >= 0x80) ? ', such as a non-ASCII character' : ''}.`,
      details: { ...details, missingByteFallbacks: bytes.length },
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
export async function checkGgufFile(path: string): Promise<ValidationCheck> {
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
