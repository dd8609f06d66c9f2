import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TRUST_POLICY_PATH } from '../format/layout.js';
import type { Bundle } from '../format/types.js';
import { artifactPath } from '../format/validate.js';
import { inspectGguf } from '../model/model-facts.js';
import type { BundleContent } from './content.js';

/**
 * The content a bundle on disk was packed from, for rendering its texts
 * again: the manifest, plus the facts of the first artifact (the manifest
 * keeps no chat template or KV-cache size).
 */
export async function bundleContent(bundle: Bundle): Promise<BundleContent> {
  const { manifest } = bundle;
  return {
    name: manifest.name,
    slug: manifest.slug,
    version: manifest.version,
    created: manifest.created,
    artifacts: manifest.artifacts,
    defaults: manifest.defaults,
    facts: await inspectGguf(path.join(bundle.dir, artifactPath(manifest.artifacts[0].uri))),
    source: manifest.source,
    license: manifest.license,
    alkiVersion: manifest.alki_version,
    ...(manifest.files.some((file) => file.path === TRUST_POLICY_PATH)
      ? { trustPolicy: await readFile(path.join(bundle.dir, TRUST_POLICY_PATH), 'utf8') }
      : {}),
  };
}
