import { artifactPath, isContainedPath, MANIFEST_PATH, parseManifest } from '@alki/bundler';
import { isIndexMediaType, isValidDigest, type Descriptor, type FetchedManifest } from '@alki/oci';
import { PublishError } from '../errors.js';
import { MODELPACK_ARTIFACT, MODELPACK_CONFIG, MODELPACK_FILEPATH_ANNOTATION } from './media-types.js';
import { QUANT_ANNOTATION } from './modelpack.js';

/** One layer of a published bundle and the bundle path it restores. */
export interface PublishedLayer {
  path: string;
  layer: Descriptor;
}

/** A published bundle's OCI manifest, checked: every layer names a distinct, contained path. */
export interface PublishedArtifact {
  /** The digest of the OCI manifest (what signatures refer to). */
  digest: string;
  /** The OCI manifest's own descriptor, the `subject` of its referrers. */
  descriptor: Descriptor;
  layers: PublishedLayer[];
  /** The layer that holds metadata/manifest.json. */
  manifestLayer: Descriptor;
  /** Set when the artifact is one quant of a multi-quant bundle. */
  quant?: string;
}

interface ArtifactManifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

function invalid(message: string, details: Record<string, unknown> = {}): PublishError {
  return new PublishError('INVALID_MANIFEST', message, { details });
}

// Every layer must name a distinct, contained path: a hostile manifest must
// not write outside the output directory or overwrite one file with another.
function plannedFiles(manifest: ArtifactManifest, reference: string): PublishedLayer[] {
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0)
    throw invalid(`${reference} has no layers.`, { reference });
  const seen = new Set<string>();
  return manifest.layers.map((layer) => {
    const file = layer.annotations?.[MODELPACK_FILEPATH_ANNOTATION];
    if (typeof file !== 'string' || !isContainedPath(file) || file.startsWith('./')) {
      throw invalid(
        `A layer of ${reference} has no safe ${MODELPACK_FILEPATH_ANNOTATION} path: ${JSON.stringify(file)}.`,
        { reference, path: file },
      );
    }
    if (seen.has(file)) throw invalid(`Two layers of ${reference} write ${file}.`, { reference, path: file });
    if (!isValidDigest(layer.digest) || !Number.isSafeInteger(layer.size) || layer.size < 0)
      throw invalid(`The layer for ${file} has a bad digest or size.`, { reference, path: file });
    seen.add(file);
    return { path: file, layer };
  });
}

/**
 * Reads a fetched OCI manifest as a published Alki bundle (what
 * `publishBundle` pushed): an image index, something that is not a
 * ModelPack artifact, unsafe or duplicate layer paths, and a missing
 * metadata/manifest.json layer are refused with INVALID_MANIFEST.
 * `where` names the store in messages (`host/repo`).
 *
 * @example
 * const artifact = parsePublishedArtifact(await client.getManifest('models/tiny', 'v1'), '127.0.0.1:5000/models/tiny', 'v1');
 */
export function parsePublishedArtifact(
  fetched: FetchedManifest,
  where: string,
  reference: string,
): PublishedArtifact {
  if (isIndexMediaType(fetched.mediaType)) {
    throw invalid(`${where}:${reference} is an image index, not a bundle artifact.`, { reference });
  }
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(fetched.bytes.toString('utf8')) as ArtifactManifest;
  } catch (error) {
    throw new PublishError('INVALID_MANIFEST', `The manifest of ${reference} is not JSON.`, {
      cause: error,
      details: { reference },
    });
  }
  if (manifest.artifactType !== MODELPACK_ARTIFACT && manifest.config?.mediaType !== MODELPACK_CONFIG) {
    throw invalid(
      `${where}:${reference} is not a model bundle (artifactType ${manifest.artifactType ?? 'none'}, config ${manifest.config?.mediaType ?? 'none'}).`,
      { reference, artifactType: manifest.artifactType },
    );
  }
  const layers = plannedFiles(manifest, reference);
  const manifestLayer = layers.find((entry) => entry.path === MANIFEST_PATH)?.layer;
  if (!manifestLayer) throw invalid(`${reference} has no ${MANIFEST_PATH} layer.`, { reference });
  const quant = manifest.annotations?.[QUANT_ANNOTATION];
  return {
    digest: fetched.digest,
    descriptor: { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length },
    layers,
    manifestLayer,
    ...(quant ? { quant } : {}),
  };
}

/**
 * Binds a published artifact to its metadata/manifest.json (the bytes a
 * signature covers): every file the manifest lists must be a layer with the
 * manifest's sha256 and size (but the other quants' weights in a one-quant
 * artifact), and every layer must be listed. A layer that disagrees fails
 * with DIGEST_MISMATCH, naming the file; an unlisted or missing file with
 * INVALID_MANIFEST. Since layers are content-addressed, a signed manifest
 * that passes this covers every byte a pull writes.
 *
 * @example
 * const { name, version } = matchLayersToManifest(artifact, manifestJsonBytes, 'v1');
 */
export function matchLayersToManifest(
  artifact: PublishedArtifact,
  manifestBytes: Buffer,
  reference: string,
): { name: string; version: string } {
  let json: unknown;
  try {
    json = JSON.parse(manifestBytes.toString('utf8'));
  } catch (error) {
    throw new PublishError('INVALID_BUNDLE', `The published ${MANIFEST_PATH} is not JSON.`, { cause: error });
  }
  const manifest = parseManifest(json, MANIFEST_PATH);
  const expected = new Map<string, { sha256: string; size: number }>();
  for (const entry of manifest.artifacts) {
    if (artifact.quant && entry.quant !== artifact.quant) continue;
    expected.set(artifactPath(entry.uri), { sha256: entry.sha256, size: entry.size });
  }
  for (const file of manifest.files) expected.set(file.path, { sha256: file.sha256, size: file.size });
  const present = new Set(artifact.layers.map((entry) => entry.path));
  for (const listed of expected.keys()) {
    if (!present.has(listed))
      throw invalid(`The artifact lacks ${listed}, which ${MANIFEST_PATH} lists.`, { path: listed });
  }
  for (const entry of artifact.layers) {
    if (entry.path === MANIFEST_PATH) continue;
    const want = expected.get(entry.path);
    if (!want)
      throw invalid(`${reference} carries ${entry.path}, which ${MANIFEST_PATH} does not list.`, {
        reference,
        path: entry.path,
      });
    if (`sha256:${want.sha256}` !== entry.layer.digest || want.size !== entry.layer.size) {
      throw new PublishError(
        'DIGEST_MISMATCH',
        `${entry.path} is ${entry.layer.digest} (${entry.layer.size} bytes) in the registry, but ${MANIFEST_PATH} says sha256:${want.sha256} (${want.size} bytes).`,
        {
          details: { path: entry.path, descriptor: entry.layer.digest, manifest: `sha256:${want.sha256}` },
        },
      );
    }
  }
  return { name: manifest.name, version: manifest.version };
}
