import { artifactPath, MANIFEST_PATH, type BundleManifest } from '@alki/bundler';
import {
  ALKI_BUILD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  SLSA_PROVENANCE_PREDICATE_TYPE,
} from '../format/media-types.js';

/** An in-toto ResourceDescriptor (in-toto/attestation, `spec/v1/resource_descriptor.md`). */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** An in-toto statement v1 with an SLSA provenance v1 predicate. */
export interface ProvenanceStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: typeof SLSA_PROVENANCE_PREDICATE_TYPE;
  predicate: {
    buildDefinition: {
      buildType: typeof ALKI_BUILD_TYPE;
      externalParameters: Record<string, unknown>;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
    };
  };
}

export interface ProvenanceInput {
  manifest: BundleManifest;
  /** Hex SHA-256 of metadata/manifest.json as it is on disk. */
  manifestSha256: string;
  /** Hex SHA-256 of source files, by the names in manifest.source.files, where they are known. */
  sourceDigests?: Record<string, string>;
  /** The hub the source came from; default https://huggingface.co. */
  hubUrl?: string;
  /** The llama.cpp release Alki's tools and runtime are built from (`v0.4.0`). */
  llamaCppVersion?: string;
  /** The Alki version that signs; the version that packed is the manifest's. */
  signerVersion: string;
}

/** The builder id of bundles packed by the alki CLI. */
export const ALKI_BUILDER_ID = 'https://alki.dev/builder/alki-cli';

const DEFAULT_HUB_URL = 'https://huggingface.co';

// A source file as a resolved dependency: hub files by their resolve URL at
// the pinned commit (the URL huggingface_hub downloads), local files by name.
function sourceDependency(input: ProvenanceInput, file: string): ResourceDescriptor {
  const { source } = input.manifest;
  const digest = input.sourceDigests?.[file];
  const hub = (input.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const uri =
    source.kind === 'hub' && source.revision
      ? `${hub}/${source.repo}/resolve/${source.revision}/${file}`
      : `file:${source.kind === 'local-gguf' ? file : `${source.repo}/${file}`}`;
  return { name: file, uri, ...(digest ? { digest: { sha256: digest } } : {}) };
}

function isConverted(manifest: BundleManifest): boolean {
  return (
    manifest.source.kind === 'local-hf' ||
    manifest.source.kind === 'demo' ||
    !manifest.source.files.some((f) => f.endsWith('.gguf'))
  );
}

/**
 * The SLSA provenance of a bundle as an in-toto statement: the subjects are
 * manifest.json and every file it lists (so a verifier can name the file
 * that changed even when the manifest was rewritten too), the external parameters say what was
 * asked for (source, quantizations, server defaults), and the resolved
 * dependencies pin the source files (with their SHA-256 where known) and
 * llama.cpp. Pure: the same input gives the same statement.
 *
 * @example
 * const statement = buildProvenance({ manifest, manifestSha256, signerVersion: '0.1.0' });
 */
export function buildProvenance(input: ProvenanceInput): ProvenanceStatement {
  const { manifest } = input;
  const dependencies = manifest.source.files.map((file) => sourceDependency(input, file));
  if (input.llamaCppVersion) {
    dependencies.push({
      name: 'llama.cpp',
      uri: `git+https://github.com/ggml-org/llama.cpp@${input.llamaCppVersion}`,
    });
  }
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [
      { name: MANIFEST_PATH, digest: { sha256: input.manifestSha256 } },
      ...manifest.artifacts.map((artifact) => ({
        name: artifactPath(artifact.uri),
        digest: { sha256: artifact.sha256 },
      })),
      ...manifest.files.map((file) => ({ name: file.path, digest: { sha256: file.sha256 } })),
    ],
    predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: ALKI_BUILD_TYPE,
        externalParameters: {
          source: {
            kind: manifest.source.kind,
            repo: manifest.source.repo,
            revision: manifest.source.revision,
            files: manifest.source.files,
          },
          name: manifest.name,
          quantizations: manifest.artifacts.map((artifact) => artifact.quant),
          defaults: manifest.defaults,
        },
        internalParameters: {
          conversion: isConverted(manifest)
            ? { from: 'safetensors', to: 'gguf', converter: `@alki/converter@${manifest.alki_version}` }
            : null,
          quantization: manifest.artifacts.map((artifact) => ({
            quant: artifact.quant,
            file_type: artifact.file_type ?? null,
            file: artifactPath(artifact.uri),
          })),
          architecture: manifest.architecture,
          parameter_count: manifest.parameter_count,
        },
        resolvedDependencies: dependencies,
      },
      runDetails: {
        builder: {
          id: ALKI_BUILDER_ID,
          version: {
            alki: manifest.alki_version,
            'alki-signer': input.signerVersion,
            ...(input.llamaCppVersion ? { 'llama.cpp': input.llamaCppVersion } : {}),
          },
        },
      },
    },
  };
}
