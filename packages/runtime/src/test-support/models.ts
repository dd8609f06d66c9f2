// Test fixtures shared by this package's tests (excluded from the build by tsconfig.build.json).
import path from 'node:path';
import { cachedTinyLlamaGguf, fixtureCacheDir, rewriteGgufMetadata } from '@alki/testkit';
import fs from 'node:fs';

/** The tiny ASCII-vocabulary llama GGUF with a ChatML template (testkit). */
export async function tinyModel(): Promise<string> {
  return (await cachedTinyLlamaGguf()).path;
}

/** The tiny model without llama.feed_forward_length: llama.cpp hits a GGML_ASSERT and aborts on load. */
export async function abortingModel(): Promise<string> {
  const source = await tinyModel();
  const file = path.join(fixtureCacheDir('runtime'), `no-feed-forward-${path.basename(source)}`);
  if (!fs.existsSync(file)) await rewriteGgufMetadata(source, file, (entries) => entries.filter((e) => e.key !== 'llama.feed_forward_length'));
  return file;
}
