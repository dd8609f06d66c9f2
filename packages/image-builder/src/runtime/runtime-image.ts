import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  initLayout,
  OCI_CONFIG,
  OCI_MANIFEST,
  ociArchitecture,
  readImageFromLayout,
  tagManifest,
  writeJsonBlob,
} from '@alki/oci';
import { ALKI_IMAGE_LABEL, HEALTHCHECK_LABEL, type BuiltImage } from '../base/air-gapped-base.js';
import { runProgram, sharedLibrariesOf, type RunProgram } from '../base/shared-libraries.js';
import { ImageBuilderError } from '../errors.js';
import { writeLayer } from '../layer/write-layer.js';
import { assembleImage, reproducibleTime } from '../image/image-config.js';
import type { TarEntry } from '../tar/tar-header.js';
import { closureEntries, packageClosure } from './node-closure.js';
import { RUNTIME_BUNDLE_DIR } from './runtime-main.js';

const NODE_PATH = '/opt/alki/node/bin/node';
const RUNTIME_ROOT = 'opt/alki/runtime';
const ENTRYPOINT = `/${RUNTIME_ROOT}/node_modules/@alki/image-builder/dist/runtime/entrypoint.js`;

export interface BuildRuntimeImageOptions {
  /** The layout with the base (a llama-server image) that receives the runtime image. */
  layoutDir: string;
  baseTag: string;
  tag: string;
  /** The node binary to ship; default this process's. */
  nodeBinary?: string;
  /** Port llama-server listens on, for EXPOSE and the healthcheck; bundles default to 8080. */
  port?: number;
  /** @alki/image-builder's own directory, whose built dist/ and run-time dependencies go in. */
  packageDir?: string;
  run?: RunProgram;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** This package's root: two levels above this file, in dist/ and in src/ alike. */
function ownPackageDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * Builds the two-stage `alki-runtime` image: the base's llama-server plus
 * one layer with a node binary, the shared libraries it links, and the
 * compiled entrypoint with its run-time packages. At start it pulls
 * ALKI_BUNDLE_URI, verifies every digest and runs llama-server (see
 * runRuntime). Node rather than a static program: the entrypoint reuses
 * registry-publisher's client (auth, retries, verified pulls) and the
 * bundler's verifier as they are, instead of a second implementation.
 *
 * @example
 * await buildRuntimeImage({ layoutDir: imageStoreDir(), baseTag: 'alki/llama-server:v0.4.0', tag: 'alki-runtime:latest' });
 */
export async function buildRuntimeImage(
  options: BuildRuntimeImageOptions,
): Promise<BuiltImage & { digest: string }> {
  const run = options.run ?? runProgram;
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const packageDir = options.packageDir ?? ownPackageDir();
  const entrypointSource = path.join(packageDir, 'dist', 'runtime', 'entrypoint.js');
  if (!fs.existsSync(entrypointSource)) {
    throw new ImageBuilderError(
      'TOOL_FAILED',
      `The runtime entrypoint is not built (${entrypointSource} is missing).`,
      {
        hint: 'Run `npm run build` in the Alki checkout first.',
        details: { path: entrypointSource },
      },
    );
  }
  await initLayout(options.layoutDir);
  const base = await readImageFromLayout(options.layoutDir, options.baseTag);
  const real = fs.realpathSync(nodeBinary);
  const entries: TarEntry[] = [
    {
      type: 'file',
      path: NODE_PATH.slice(1),
      mode: 0o755,
      size: fs.statSync(real).size,
      content: { kind: 'file', path: real },
    },
  ];
  for (const library of sharedLibrariesOf(real, run)) {
    const file = fs.realpathSync(library);
    entries.push({
      type: 'file',
      path: library.slice(1),
      mode: 0o755,
      size: fs.statSync(file).size,
      content: { kind: 'file', path: file },
    });
  }
  entries.push(...closureEntries(packageClosure(packageDir), RUNTIME_ROOT));
  // Sticky and world-writable like /tmp: the runtime runs as a non-root user
  // and must create the bundle there, while every tar entry stays owned by 0:0.
  entries.push({ type: 'directory', path: path.posix.dirname(RUNTIME_BUNDLE_DIR).slice(1), mode: 0o1777 });
  const time = reproducibleTime(options.env);
  const layer = await writeLayer(options.layoutDir, entries, { mtime: time.seconds, signal: options.signal });
  const port = options.port ?? 8080;
  const probe = base.config.config?.Labels?.[HEALTHCHECK_LABEL];
  const server = base.config.config?.Entrypoint?.[0] ?? '/app/llama-server';
  const second = 1_000_000_000;
  const { config, manifest } = assembleImage({
    base,
    layers: [
      {
        layer,
        createdBy: `alki image runtime: node ${process.version} and the alki-runtime entrypoint`,
        comment: 'alki',
      },
    ],
    config: {
      Entrypoint: [NODE_PATH, ENTRYPOINT],
      User: '65532:65532',
      Cmd: [],
      Env: [`ALKI_BUNDLE_DIR=${RUNTIME_BUNDLE_DIR}`, `ALKI_LLAMA_SERVER=${server}`],
      ExposedPorts: { [`${port}/tcp`]: {} },
      Volumes: { [path.posix.dirname(RUNTIME_BUNDLE_DIR)]: {} },
      Healthcheck: {
        Test: probe
          ? ['CMD', probe, String(port), '/health']
          : ['CMD', 'curl', '-f', `http://localhost:${port}/health`],
        Interval: 30 * second,
        Timeout: 5 * second,
        StartPeriod: 300 * second,
        Retries: 3,
      },
      Labels: {
        'org.opencontainers.image.title': 'alki-runtime',
        'org.opencontainers.image.description':
          'Pulls the Alki bundle named by ALKI_BUNDLE_URI, verifies it, and serves it with llama-server',
        'org.opencontainers.image.created': time.iso,
        'org.opencontainers.image.base.digest': base.manifestDescriptor.digest,
        'org.opencontainers.image.base.name': options.baseTag,
        [ALKI_IMAGE_LABEL]: 'runtime',
      },
    },
    created: time.iso,
    architecture: ociArchitecture(),
  });
  const configDescriptor = await writeJsonBlob(options.layoutDir, config, OCI_CONFIG);
  const fullManifest = manifest(configDescriptor);
  const manifestDescriptor = await writeJsonBlob(options.layoutDir, fullManifest, OCI_MANIFEST);
  await tagManifest(options.layoutDir, manifestDescriptor, options.tag);
  const size = configDescriptor.size + fullManifest.layers.reduce((sum, l) => sum + l.size, 0);
  return {
    layoutDir: options.layoutDir,
    tag: options.tag,
    manifest: manifestDescriptor,
    digest: manifestDescriptor.digest,
    size,
  };
}
