import fs from 'node:fs';
import {
  initLayout,
  OCI_CONFIG,
  OCI_MANIFEST,
  ociArchitecture,
  readImageFromLayout,
  tagManifest,
  writeJsonBlob,
  type HealthConfig,
} from '@alki/oci';
import { MANIFEST_PATH, projectorArtifact, type Bundle } from '@alki/bundler';
import { HEALTHCHECK_LABEL, ALKI_IMAGE_LABEL, type BuiltImage } from './base/air-gapped-base.js';
import { isAlkiError } from '@alki/errors';
import { ImageBuilderError } from './errors.js';
import {
  bundleLayerEntries,
  bundleServerArgs,
  chooseArtifact,
  IMAGE_BUNDLE_DIR,
  imageModelPath,
  manifestEntry,
} from './bundle/bundle-layer.js';
import { writeLayer, type LayerCompression } from './layer/write-layer.js';
import { assembleImage, reproducibleTime } from './image/image-config.js';
import path from 'node:path';

export interface BuildImageOptions {
  /** The bundle, as `readBundle` returns it. */
  bundle: Bundle;
  /** The OCI layout that holds the base (tagged `baseTag`) and receives the image. */
  layoutDir: string;
  baseTag: string;
  /**
   * The OCI architecture to build for (`arm64`): the base's image for it when
   * the base is a multi-platform index. Default: this machine's. A base of
   * another architecture is refused (INVALID_PLATFORM).
   */
  architecture?: string;
  /** Tag of the new image inside the layout, e.g. `acme/qwen3:latest`. */
  tag: string;
  /** Serve this quant instead of runtime.json's model; only that model goes into the image. */
  quant?: string;
  /**
   * The bundle layer's compression. Default `none`: quantized GGUF weights
   * shrink by only a few percent under gzip, which costs most of the build
   * time (tools/bench/image.ts); `gzip` is there for registries or clients
   * that want compressed layers.
   */
  compression?: LayerCompression;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Bytes of the bundle layer written so far, out of `total`. */
  onProgress?: (bytes: number, total: number) => void;
}

/** nanoseconds, as Docker's HealthConfig wants them. */
const SECOND_NS = 1_000_000_000;

function healthcheck(
  probe: string | undefined,
  port: number,
  healthPath: string,
  timeoutS: number,
): HealthConfig {
  // The upstream llama.cpp server image ships curl and uses it the same way
  // (.devops/cpu.Dockerfile, HEALTHCHECK); the air-gapped base has its own static probe.
  const test = probe
    ? ['CMD', probe, String(port), healthPath]
    : ['CMD', 'curl', '-f', `http://localhost:${port}${healthPath}`];
  return {
    Test: test,
    Interval: 30 * SECOND_NS,
    Timeout: Math.max(1, timeoutS) * SECOND_NS,
    StartPeriod: 60 * SECOND_NS,
    Retries: 3,
  };
}

/**
 * Builds a llama-server image for a bundle on a base, without a daemon: one
 * deterministic layer with the bundle under /opt/alki/bundle, and a config
 * whose Entrypoint is the base's llama-server and whose Cmd holds the
 * runtime.json arguments. The same bundle on the same base gives the same
 * manifest digest.
 *
 * @example
 * const bundle = await readBundle('./dist/tiny');
 * const image = await buildImage({ bundle, layoutDir: imageStoreDir(), baseTag: 'alki/llama-server:v0.4.0', tag: 'acme/tiny:latest' });
 */
export async function buildImage(
  options: BuildImageOptions,
): Promise<BuiltImage & { digest: string; model: string }> {
  const { bundle } = options;
  await initLayout(options.layoutDir);
  const architecture = options.architecture ?? ociArchitecture();
  const base = await readImageFromLayout(options.layoutDir, options.baseTag, architecture).catch(
    (error: unknown) => {
      // An index without this platform's image.
      if (isAlkiError(error) && error.code === 'NOT_FOUND' && error.details?.architecture)
        throw new ImageBuilderError('INVALID_PLATFORM', error.message, {
          cause: error,
          hint: 'Build the base for that platform (`alki image base --platform`), or pick the base built for it.',
          details: { base: options.baseTag, architecture },
        });
      throw error;
    },
  );
  const baseArchitecture = base.config.architecture;
  if (baseArchitecture && baseArchitecture !== architecture)
    throw new ImageBuilderError(
      'INVALID_PLATFORM',
      `The base ${options.baseTag} is a linux/${baseArchitecture} image, not linux/${architecture}.`,
      {
        hint: 'Build the base for that platform (`alki image base --platform`), or pick the base built for it.',
        details: { base: options.baseTag, baseArchitecture, architecture },
      },
    );
  const artifact = chooseArtifact(bundle, options.quant);
  // One quant still ships the projector, which serves every quant.
  const projector = projectorArtifact(bundle.manifest);
  const artifacts = options.quant ? [artifact, ...(projector ? [projector] : [])] : bundle.manifest.artifacts;
  const manifestSize = fs.statSync(path.join(bundle.dir, MANIFEST_PATH)).size;
  const entries = [...bundleLayerEntries(bundle, artifacts), manifestEntry(bundle, manifestSize)];
  const total = entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0);
  const time = reproducibleTime(options.env);
  const layer = await writeLayer(options.layoutDir, entries, {
    mtime: time.seconds,
    compression: options.compression ?? 'none',
    signal: options.signal,
    onProgress: (bytes) => options.onProgress?.(Math.min(bytes, total), total),
  });
  const { runtime, manifest: bundleManifest } = bundle;
  const port = runtime.server.port;
  const entrypoint = base.config.config?.Entrypoint?.length
    ? base.config.config.Entrypoint
    : ['/app/llama-server'];
  const probe = base.config.config?.Labels?.[HEALTHCHECK_LABEL];
  const source =
    bundleManifest.source.kind === 'hub' ? `https://huggingface.co/${bundleManifest.source.repo}` : undefined;
  const { config, manifest } = assembleImage({
    base,
    layers: [
      {
        layer,
        createdBy: `alki image build: COPY bundle ${bundleManifest.slug} ${bundleManifest.version} to ${IMAGE_BUNDLE_DIR}`,
        comment: 'alki',
      },
    ],
    config: {
      Entrypoint: entrypoint,
      // Not root: llama-server only reads the bundle (as the bundle's own Dockerfile does).
      User: '65532:65532',
      Cmd: bundleServerArgs(bundle, artifact, imageModelPath),
      ExposedPorts: { [`${port}/tcp`]: {} },
      Env: [`ALKI_BUNDLE_DIR=${IMAGE_BUNDLE_DIR}`],
      Healthcheck: healthcheck(probe, port, runtime.health.path, runtime.health.timeout_s),
      Labels: {
        'org.opencontainers.image.title': bundleManifest.name,
        'org.opencontainers.image.version': bundleManifest.version,
        'org.opencontainers.image.created': time.iso,
        'org.opencontainers.image.description': `${bundleManifest.name} (${artifact.quant}) served by llama-server`,
        ...(bundleManifest.license ? { 'org.opencontainers.image.licenses': bundleManifest.license } : {}),
        ...(source ? { 'org.opencontainers.image.source': source } : {}),
        'org.opencontainers.image.base.digest': base.manifestDescriptor.digest,
        'org.opencontainers.image.base.name': options.baseTag,
        [ALKI_IMAGE_LABEL]: 'bundle',
        'io.alki.bundle.name': bundleManifest.slug,
        'io.alki.bundle.version': bundleManifest.version,
        'io.alki.bundle.quant': artifact.quant,
        'io.alki.bundle.sha256': artifact.sha256,
      },
    },
    created: time.iso,
    architecture,
    annotations: {
      'org.opencontainers.image.title': bundleManifest.name,
      'org.opencontainers.image.version': bundleManifest.version,
      'org.opencontainers.image.created': time.iso,
      'org.opencontainers.image.base.digest': base.manifestDescriptor.digest,
    },
  });
  const configDescriptor = await writeJsonBlob(options.layoutDir, config, OCI_CONFIG);
  const manifestDescriptor = await writeJsonBlob(options.layoutDir, manifest(configDescriptor), OCI_MANIFEST);
  await tagManifest(options.layoutDir, manifestDescriptor, options.tag);
  const size = configDescriptor.size + manifest(configDescriptor).layers.reduce((sum, l) => sum + l.size, 0);
  return {
    layoutDir: options.layoutDir,
    tag: options.tag,
    manifest: manifestDescriptor,
    digest: manifestDescriptor.digest,
    size,
    model: imageModelPath(artifact.uri),
  };
}
