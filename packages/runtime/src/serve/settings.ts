import path from 'node:path';
import {
  artifactPath,
  bundleFile,
  DEFAULT_PARALLEL,
  readBundle,
  slotCount,
  type Bundle,
} from '@alki/bundler';
import { getMetadata, openGguf } from '@alki/gguf-reader';
import { resolveModelTarget } from '@alki/hub';
import type { ServeSettings } from './llama-server-args.js';

// A default context that fits small machines; the model's own limit caps it.
const DEFAULT_CONTEXT = 4096;

/**
 * Serve settings for a bare GGUF file: id from the file name, context from
 * the model (at most 4096), 127.0.0.1:8080, automatic threads and GPU layers,
 * DEFAULT_PARALLEL slots.
 */
export async function resolveGgufSettings(
  file: string,
  overrides: Partial<ServeSettings> = {},
): Promise<ServeSettings> {
  await resolveModelTarget(file, { accept: ['file'] });
  const header = await openGguf(file);
  const architecture = getMetadata(header, 'general.architecture');
  const trained =
    typeof architecture === 'string' ? getMetadata(header, `${architecture}.context_length`) : undefined;
  const modelContext =
    typeof trained === 'number' ? trained : typeof trained === 'bigint' ? Number(trained) : DEFAULT_CONTEXT;
  return {
    modelPath: path.resolve(file),
    modelId: path.basename(file).replace(/\.gguf$/i, ''),
    host: '127.0.0.1',
    port: 8080,
    ctx: Math.min(modelContext, DEFAULT_CONTEXT),
    threads: 'auto',
    ngl: 'auto',
    parallel: DEFAULT_PARALLEL,
    ...overrides,
  };
}

/**
 * Serve settings from a bundle's metadata/runtime.json: the default artifact
 * and vision projector, host, port, context, threads, GPU layers and slots;
 * the model id is the bundle name, as the deploy configs' `--alias`.
 */
export function bundleSettings(bundle: Bundle, overrides: Partial<ServeSettings> = {}): ServeSettings {
  const { runtime, manifest } = bundle;
  return {
    modelPath: path.join(bundle.dir, artifactPath(runtime.model)),
    ...(runtime.mmproj !== undefined
      ? { projectorPath: path.join(bundle.dir, artifactPath(runtime.mmproj)) }
      : {}),
    modelId: manifest.name,
    host: runtime.server.host,
    port: runtime.server.port,
    ctx: runtime.args.ctx,
    threads: runtime.args.threads,
    ngl: runtime.args.ngl,
    parallel: slotCount(runtime.args),
    ...overrides,
  };
}

/**
 * Settings for what `alki serve` was pointed at: a bundle directory (its
 * runtime.json, and the model it serves once it passes the bundle's
 * containment check) or a .gguf file (defaults), with flags overriding either.
 *
 * @example
 * const settings = await resolveServeSettings('./dist/tiny', { port: 9000 });
 */
export async function resolveServeSettings(
  target: string,
  overrides: Partial<ServeSettings> = {},
): Promise<ServeSettings> {
  const resolved = await resolveModelTarget(target, { accept: ['file', 'directory'] });
  if (resolved.kind === 'file') return resolveGgufSettings(target, overrides);
  const bundle = await readBundle(target);
  const modelPath = await bundleFile(bundle.dir, artifactPath(bundle.runtime.model));
  return bundleSettings(bundle, { modelPath, ...overrides });
}
