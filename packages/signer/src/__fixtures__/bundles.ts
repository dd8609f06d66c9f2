// Test fixtures: real bundles packed by @alki/bundler from a tiny llama GGUF.
// Only imported by tests.
import { pack } from '@alki/bundler';
import { writeTinyLlamaGguf } from '@alki/testkit';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import path from 'node:path';

/** Packs a one-model bundle into `<work>/<name>` and returns its directory. */
export async function packTinyBundle(work: string, name: string): Promise<string> {
  const gguf = path.join(work, `${name}-source.gguf`);
  await writeTinyLlamaGguf(gguf, { seed: 7, name });
  const out = path.join(work, name);
  await pack({ source: gguf, out, sourceDateEpoch: 1_700_000_000 });
  return out;
}

/** A fresh P-256 key pair as key objects, the way loadPrivateKey/loadPublicKey return them. */
export function testKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}
