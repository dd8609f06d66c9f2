import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageBuilderError } from '../errors.js';
import { writeLayer } from '../layer/write-layer.js';
import {
  initLayout,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  ociArchitecture,
  tagManifest,
  writeJsonBlob,
  type Descriptor,
  type ImageIndex,
} from '@alki/oci';
import { assembleImage, reproducibleTime } from '../image/image-config.js';
import { bufferEntry, type TarEntry } from '../tar/tar-header.js';
import {
  crossSharedLibrariesOf,
  runProgram,
  sharedLibrariesOf,
  type ImageFile,
  type RunProgram,
} from './shared-libraries.js';

/** Where the base image puts llama-server, as the upstream ghcr.io/ggml-org/llama.cpp:server image does. */
export const BASE_SERVER_PATH = '/app/llama-server';
/** The static health probe of the air-gapped base; images built on it use it for HEALTHCHECK. */
export const BASE_HEALTHCHECK_PATH = '/app/alki-healthcheck';
/** Label that tells `buildImage` which health probe a base carries. */
export const HEALTHCHECK_LABEL = 'io.alki.healthcheck';
/** Label set on every image Alki builds; `alki image list` filters on it. */
export const ALKI_IMAGE_LABEL = 'io.alki.image';

export interface BuildBaseOptions {
  /** The llama-server binary (from `findLlamaTools()`). */
  llamaServer: string;
  /** The OCI layout to write into (created when missing). */
  layoutDir: string;
  /** Tag inside the layout. */
  tag: string;
  /** llama.cpp tag the server was built from, for the labels. */
  llamaCppVersion?: string;
  /** C compiler for the static health probe; when none is found the base has no HEALTHCHECK. Default `cc`. */
  compiler?: string;
  /**
   * Build for another architecture: its OCI name (`arm64`), and the sysroot
   * and GNU triplet of the cross toolchain that built llama-server (from
   * `buildCrossLlamaServer`), where its libraries are found. Default: this machine's.
   */
  cross?: { architecture: string; sysroot: string; triplet: string };
  run?: RunProgram;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface BuiltImage {
  layoutDir: string;
  tag: string;
  manifest: Descriptor;
  /** Sum of the compressed layer sizes plus config: what a pull transfers. */
  size: number;
  /** True when the base carries the static health probe. */
  healthcheck?: boolean;
}

const HEALTHCHECK_SOURCE = fileURLToPath(new URL('../../native/alki-healthcheck.c', import.meta.url));

function compileHealthcheck(compiler: string, run: RunProgram, workDir: string): string | undefined {
  const output = path.join(workDir, 'alki-healthcheck');
  // -static: the probe must run without any library in the image.
  const result = run(compiler, ['-static', '-Os', '-s', '-o', output, HEALTHCHECK_SOURCE]);
  return result.status === 0 && !result.error ? output : undefined;
}

function fileEntry(imagePath: string, hostPath: string, mode: number): TarEntry {
  // Follow symlinks: the image gets the real bytes under the name the loader asks for.
  const real = fs.realpathSync(hostPath);
  return {
    type: 'file',
    path: imagePath,
    mode,
    size: fs.statSync(real).size,
    content: { kind: 'file', path: real },
  };
}

/** The minimal /etc a glibc program and a non-root user need. */
function etcEntries(): TarEntry[] {
  return [
    bufferEntry(
      'etc/passwd',
      'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
    ),
    bufferEntry('etc/group', 'root:x:0:\nnogroup:x:65534:\n'),
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'directory', path: 'root', mode: 0o700 },
  ];
}

/**
 * Builds the air-gapped llama-server base image: one layer holding
 * llama-server, every shared library `ldd` reports at the path the loader
 * looks for it, the loader itself, a minimal /etc and a static health probe.
 * Needs no registry and no network.
 *
 * @example
 * const tools = findLlamaTools();
 * await buildAirGappedBase({ llamaServer: tools.paths['llama-server'], layoutDir: imageStoreDir(), tag: 'alki/llama-server:v0.4.0' });
 */
export async function buildAirGappedBase(options: BuildBaseOptions): Promise<BuiltImage> {
  const run = options.run ?? runProgram;
  if (!fs.existsSync(options.llamaServer)) {
    throw new ImageBuilderError('TOOL_FAILED', `llama-server was not found at ${options.llamaServer}.`, {
      hint: 'Build the native tools with `alki tools build`.',
      details: { path: options.llamaServer },
    });
  }
  const libraries: ImageFile[] = options.cross
    ? crossSharedLibrariesOf(options.llamaServer, options.cross.sysroot, options.cross.triplet, run)
    : sharedLibrariesOf(options.llamaServer, run).map((file) => ({ hostPath: file, imagePath: file }));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-base-'));
  try {
    const probe = compileHealthcheck(options.compiler ?? 'cc', run, workDir);
    const entries: TarEntry[] = [
      fileEntry(BASE_SERVER_PATH.slice(1), options.llamaServer, 0o755),
      ...etcEntries(),
    ];
    for (const library of libraries)
      entries.push(fileEntry(library.imagePath.slice(1), library.hostPath, 0o755));
    if (probe) entries.push(fileEntry(BASE_HEALTHCHECK_PATH.slice(1), probe, 0o755));
    const libraryDirs = [...new Set(libraries.map((l) => path.posix.dirname(l.imagePath)))].sort();
    await initLayout(options.layoutDir);
    const time = reproducibleTime(options.env);
    const layer = await writeLayer(options.layoutDir, entries, {
      mtime: time.seconds,
      signal: options.signal,
    });
    const version = options.llamaCppVersion ?? 'unknown';
    const { config, manifest } = assembleImage({
      layers: [
        {
          layer,
          createdBy: `alki image base: llama-server ${version} with ${libraries.length} shared libraries from ${options.cross ? options.cross.sysroot : 'this host'}`,
          comment: 'alki',
        },
      ],
      config: {
        Entrypoint: [BASE_SERVER_PATH],
        WorkingDir: '/app',
        Env: [
          'PATH=/app:/usr/local/bin:/usr/bin:/bin',
          // The loader has no ld.so.cache in this image; point it at the directories the libraries came from.
          `LD_LIBRARY_PATH=${libraryDirs.join(':')}`,
        ],
        ExposedPorts: { '8080/tcp': {} },
        StopSignal: 'SIGTERM',
        Labels: {
          'org.opencontainers.image.title': 'alki llama-server base',
          'org.opencontainers.image.description':
            'llama-server and the shared libraries it links, for air-gapped builds',
          'org.opencontainers.image.version': version,
          'org.opencontainers.image.created': time.iso,
          'org.opencontainers.image.licenses': 'MIT',
          [ALKI_IMAGE_LABEL]: 'base',
          ...(probe ? { [HEALTHCHECK_LABEL]: BASE_HEALTHCHECK_PATH } : {}),
        },
      },
      created: time.iso,
      architecture: options.cross?.architecture ?? ociArchitecture(),
    });
    const configDescriptor = await writeJsonBlob(options.layoutDir, config, OCI_CONFIG);
    const manifestDescriptor = await writeJsonBlob(
      options.layoutDir,
      manifest(configDescriptor),
      OCI_MANIFEST,
    );
    await tagManifest(options.layoutDir, manifestDescriptor, options.tag);
    return {
      layoutDir: options.layoutDir,
      tag: options.tag,
      manifest: manifestDescriptor,
      size: layer.descriptor.size + configDescriptor.size,
      healthcheck: Boolean(probe),
    };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** One platform of a multi-platform base: its llama-server, and the cross toolchain when it is not this machine's. */
export interface BasePlatform {
  llamaServer: string;
  cross?: BuildBaseOptions['cross'];
  /** The C compiler for this platform's static health probe. */
  compiler?: string;
}

/**
 * Builds the air-gapped base for several platforms (this machine's and the
 * cross-built ones) and tags an OCI image index over them, so one name
 * serves every device: `podman pull`, `skopeo copy --override-arch` and
 * `alki image build --platform` pick the entry for their architecture. Each
 * platform's image is also tagged `<tag>-<architecture>`.
 *
 * @example
 * const arm = await buildCrossLlamaServer('linux/arm64');
 * await buildMultiPlatformBase([{ llamaServer: findLlamaTools()!.paths['llama-server'] },
 *   { llamaServer: arm.llamaServer, compiler: arm.compiler, cross: { architecture: 'arm64', sysroot: arm.sysroot, triplet: 'aarch64-linux-gnu' } }],
 *   { layoutDir: imageStoreDir(), tag: 'alki/llama-server:v0.4.0' });
 */
export async function buildMultiPlatformBase(
  platforms: BasePlatform[],
  options: Omit<BuildBaseOptions, 'llamaServer' | 'cross' | 'compiler'>,
): Promise<BuiltImage & { platforms: Array<{ architecture: string; manifest: Descriptor }> }> {
  const architectures = platforms.map((platform) => platform.cross?.architecture ?? ociArchitecture());
  const twice = architectures.find((architecture, i) => architectures.indexOf(architecture) !== i);
  if (twice)
    throw new ImageBuilderError('INVALID_PLATFORM', `linux/${twice} is named twice.`, {
      details: { architecture: twice },
    });
  const built: Array<{ architecture: string; manifest: Descriptor; size: number; healthcheck?: boolean }> =
    [];
  for (const [i, platform] of platforms.entries()) {
    const architecture = architectures[i];
    const image = await buildAirGappedBase({
      ...options,
      llamaServer: platform.llamaServer,
      cross: platform.cross,
      compiler: platform.compiler,
      tag: `${options.tag}-${architecture}`,
    });
    built.push({ architecture, manifest: image.manifest, size: image.size, healthcheck: image.healthcheck });
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: built.map((b) => ({ ...b.manifest, platform: { os: 'linux', architecture: b.architecture } })),
  };
  const descriptor = await writeJsonBlob(options.layoutDir, index, OCI_INDEX);
  await tagManifest(options.layoutDir, descriptor, options.tag);
  return {
    layoutDir: options.layoutDir,
    tag: options.tag,
    manifest: descriptor,
    size: built.reduce((sum, b) => sum + b.size, 0),
    healthcheck: built.every((b) => b.healthcheck),
    platforms: built.map(({ architecture, manifest }) => ({ architecture, manifest })),
  };
}
