// Test fixtures: real bundles made by @alki/bundler's pack() from a tiny
// llama GGUF, and a two-quant variant whose second model is a real Q8_0
// made by llama-quantize. Only imported by tests.
import { pack, type BundleManifest } from '@alki/bundler';
import { nativeTools, writeTinyLlamaGguf } from '@alki/testkit';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export async function packTinyBundle(
  work: string,
  name: string,
  options: { seed?: number; epoch?: number } = {},
): Promise<string> {
  const gguf = path.join(work, `${name}-source.gguf`);
  await writeTinyLlamaGguf(gguf, { seed: options.seed ?? 1, name });
  const out = path.join(work, name);
  await pack({ source: gguf, out, sourceDateEpoch: options.epoch ?? 1_700_000_000 });
  return out;
}

function sha256(file: string): { sha256: string; size: number } {
  const bytes = fs.readFileSync(file);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/**
 * Adds a Q8_0 model (llama-quantize of the bundle's F32 model) to a packed
 * bundle, listing it in manifest.json and the SBOM the way pack lists models,
 * so verifyBundle passes. pack itself cannot re-quantize until
 * @alki/quantizer lands.
 */
export async function addQ8Quant(dir: string): Promise<void> {
  const tools = await nativeTools();
  const manifestFile = path.join(dir, 'metadata/manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BundleManifest;
  const first = manifest.artifacts[0];
  const uri = `./models/${manifest.slug}-q8_0.gguf`;
  execFileSync(tools.paths['llama-quantize'], [path.join(dir, first.uri), path.join(dir, uri), 'Q8_0', '1'], {
    stdio: 'ignore',
  });
  manifest.artifacts.push({ quant: 'Q8_0', uri, ...sha256(path.join(dir, uri)) });

  const sbomFile = path.join(dir, 'metadata/sbom.spdx.json');
  const sbom = JSON.parse(fs.readFileSync(sbomFile, 'utf8')) as {
    packages: Array<Record<string, unknown>>;
    relationships: Array<Record<string, unknown>>;
  };
  const model = sbom.packages.find((entry) => entry.packageFileName === first.uri)!;
  const id = `${String(model.SPDXID)}-q8`;
  sbom.packages.push({
    ...model,
    SPDXID: id,
    packageFileName: uri,
    checksums: [{ algorithm: 'SHA256', checksumValue: manifest.artifacts[1].sha256 }],
  });
  for (const relation of sbom.relationships.filter((r) => r.spdxElementId === model.SPDXID))
    sbom.relationships.push({ ...relation, spdxElementId: id });
  fs.writeFileSync(sbomFile, JSON.stringify(sbom, null, 2));
  manifest.files = manifest.files.map((file) =>
    file.path === 'metadata/sbom.spdx.json' ? { path: file.path, ...sha256(sbomFile) } : file,
  );
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
}

/**
 * Every file under `dir`: relative path to the sha256 of its bytes, for
 * byte-for-byte comparisons (Jest compares megabyte Buffers byte by byte, slowly).
 */
export function readTree(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else
        found.set(
          child,
          createHash('sha256')
            .update(fs.readFileSync(path.join(dir, child)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return found;
}
