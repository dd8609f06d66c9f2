// TEMPORARY: replaced by @alki/testkit writeTinyLlamaGguf when it lands.
export const TINY_MODEL = '/tmp/rtdev/tiny.gguf';
export const BROKEN_MODEL = '/tmp/rtdev/broken.gguf';
