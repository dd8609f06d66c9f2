// Limits the parser enforces on untrusted input. Every count in a GGUF is a
// 64-bit number an attacker controls; without these a 100-byte file could ask
// for gigabytes of memory or a deep recursion (CWE-789, CWE-674).

/** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS in ggml/include/ggml.h). */
export const MAX_TENSOR_DIMS = 4;

/**
 * Tensor names are at most 63 bytes: ggml stores them in a 64-byte buffer
 * with a NUL (GGML_MAX_NAME in ggml.h; gguf.cpp rejects longer ones).
 */
export const MAX_TENSOR_NAME_BYTES = 63;

/**
 * Metadata arrays may nest (arrays of arrays), and the parser recurses per
 * level; real files nest at most 2 deep. Deeper is a stack-exhaustion attack.
 */
export const MAX_ARRAY_NESTING = 16;

/**
 * The longest single string we decode. Stricter than gguf.cpp's
 * GGUF_MAX_STRING_LENGTH (1 GiB): the biggest real strings are chat templates
 * (tens of KiB), and every string is held in memory, so a larger one would
 * let a header alone decide how much memory `inspect` needs. The remaining
 * bytes of the file are a limit too.
 */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;

/**
 * The most items one metadata array may hold: gguf.cpp's
 * GGUF_MAX_ARRAY_ELEMENTS (2^30), checked in gguf_reader::read before it
 * resizes the vector. Arrays are also bounded by the bytes left in the file.
 */
export const MAX_ARRAY_ITEMS = 1024 * 1024 * 1024;

/**
 * The smallest encoding of one metadata key-value pair: an 8-byte key length,
 * a one-byte key (gguf.cpp refuses empty keys), a 4-byte type and a 1-byte
 * value. A kv count larger than remaining bytes / this cannot be honest.
 */
export const MIN_KV_BYTES = 8 + 1 + 4 + 1;

/** The smallest tensor info: name length, a one-byte name, n_dims, type, offset. */
export const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;
