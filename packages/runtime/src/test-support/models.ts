// Test fixtures shared by this package's tests (excluded from the build by tsconfig.build.json).
import fs from 'node:fs';
import path from 'node:path';
import { pack } from '@alki/bundler';
import { cachedTinyLlamaGguf, fixtureCacheDir, rewriteGgufMetadata } from '@alki/testkit';

/** The tiny ASCII-vocabulary llama GGUF with a ChatML template (testkit). */
export async function tinyModel(): Promise<string> {
  return (await cachedTinyLlamaGguf()).path;
}

/** The tiny model without llama.feed_forward_length: llama.cpp hits a GGML_ASSERT and aborts on load. */
export async function abortingModel(): Promise<string> {
  const source = await tinyModel();
  const file = path.join(fixtureCacheDir('runtime'), `no-feed-forward-${path.basename(source)}`);
  if (!fs.existsSync(file))
    await rewriteGgufMetadata(source, file, (entries) =>
      entries.filter((e) => e.key !== 'llama.feed_forward_length'),
    );
  return file;
}

/** A bundle of the tiny model (Q8_0 and F32 artifacts by default), packed by @alki/bundler into a fresh directory. */
export async function tinyBundle(
  parent: string,
  name = 'bundle',
  quantize = ['Q8_0', 'F32'],
): Promise<string> {
  const out = path.join(parent, name);
  await pack({ source: await tinyModel(), out, quantize });
  return out;
}
