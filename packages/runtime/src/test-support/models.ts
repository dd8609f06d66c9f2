// Test fixtures shared by this package's tests (excluded from the build by tsconfig.build.json).
import fs from 'node:fs';
import path from 'node:path';
import { ggufEntry, type GgufArray } from '@alki/gguf-reader';
import { pack, packDemo } from '@alki/bundler';
import { cachedTinyLlamaGguf, fixtureCacheDir, rewriteGgufMetadata } from '@alki/testkit';

/** The tiny ASCII-vocabulary llama GGUF with a ChatML template (testkit). */
export async function tinyModel(): Promise<string> {
  return (await cachedTinyLlamaGguf()).path;
}

/** A variant of the tiny model, written once into the fixture cache. */
async function variant(name: string, edit: Parameters<typeof rewriteGgufMetadata>[2]): Promise<string> {
  const source = await tinyModel();
  const file = path.join(fixtureCacheDir('runtime'), `${name}-${path.basename(source)}`);
  if (!fs.existsSync(file)) await rewriteGgufMetadata(source, file, edit);
  return file;
}

/** The tiny model without llama.feed_forward_length: node-llama-cpp's llama.cpp hits a GGML_ASSERT and aborts on load. */
export function abortingModel(): Promise<string> {
  return variant('no-feed-forward', (entries) =>
    entries.filter((e) => e.key !== 'llama.feed_forward_length'),
  );
}

/**
 * The tiny model with two tokens spelled alike: llama-server aborts on load
 * (src/llama-vocab.cpp, GGML_ASSERT(id_to_token.size() == token_to_id.size()))
 * and prints a gdb backtrace after the assert line.
 */
export function duplicateTokenModel(): Promise<string> {
  return variant('duplicate-token', (entries) =>
    entries.map((entry) => {
      if (entry.key !== 'tokenizer.ggml.tokens') return entry;
      const items = [...(entry.value as GgufArray).items];
      items[10] = items[11];
      return { ...entry, value: { ...(entry.value as GgufArray), items } };
    }),
  );
}

/**
 * The tiny model's byte-level vocabulary declared as SentencePiece: it loads,
 * and llama.cpp aborts on the first text with a character it has no piece
 * for, as the demo model did before it had all 256 byte pieces.
 */
export function missingBytePiecesModel(): Promise<string> {
  return variant('spm-without-byte-pieces', (entries) =>
    entries.map((entry) =>
      entry.key === 'tokenizer.ggml.model' ? ggufEntry.string(entry.key, 'llama') : entry,
    ),
  );
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

/** The demo bundle `alki pack --demo` writes (its defaults: context 512, 4 slots), packed into `parent`. */
export async function demoBundle(parent: string): Promise<string> {
  const out = path.join(parent, 'alki-demo');
  await packDemo({ out });
  return out;
}
