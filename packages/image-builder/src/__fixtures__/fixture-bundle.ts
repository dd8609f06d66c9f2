import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack, readBundle, type Bundle } from '@alki/bundler';
import { cachedTinyLlamaGguf } from '@alki/testkit';

/**
 * A real bundle made by the bundler from testkit's tiny llama GGUF (ASCII
 * vocabulary, so llama-server's replies are valid UTF-8), dated with a fixed
 * SOURCE_DATE_EPOCH so that it is the same bundle on every run.
 */
export async function packFixtureBundle(workDir: string, name = 'tiny-chat'): Promise<Bundle> {
  const gguf = await cachedTinyLlamaGguf({ name });
  const out = path.join(workDir, 'bundle');
  await pack({ source: gguf.path, out, name, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  return readBundle(out);
}

export function tempDir(prefix = 'alki-image-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
