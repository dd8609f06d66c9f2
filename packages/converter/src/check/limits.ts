// llama.cpp's own limits (src/llama-hparams.h). A GGUF beyond them aborts
// the loader with a GGML_ASSERT (the whole process exits 134), so the
// converter refuses to write one.

/** LLAMA_MAX_LAYERS: hparams arrays are sized by it. */
export const LLAMA_MAX_LAYERS = 512;
/** LLAMA_MAX_EXPERTS. */
export const LLAMA_MAX_EXPERTS = 1024;
/** GGUF stores counts and sizes as uint32. */
export const UINT32_MAX = 0xffffffff;
