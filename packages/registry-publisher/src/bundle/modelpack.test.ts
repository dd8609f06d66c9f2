import { describe, expect, it } from '@jest/globals';
import { sha256Digest } from '@alki/oci';
import {
  MODELPACK_ARTIFACT,
  MODELPACK_CONFIG,
  MODELPACK_DOC_RAW,
  MODELPACK_WEIGHT_CONFIG_RAW,
  MODELPACK_WEIGHT_RAW,
} from './media-types.js';
import { modelSpecValidator } from '../__fixtures__/model-spec.js';
import { buildModelPackArtifact, formatParamSize, layerMediaType, type ModelPackInfo } from './modelpack.js';

const info: ModelPackInfo = {
  name: 'Tiny',
  version: '2024-01-01.1',
  created: '2024-01-01T00:00:00Z',
  license: 'apache-2.0',
  family: 'llama',
  parameterCount: 135_000_000,
  quantizations: ['Q4_K_M'],
};
const files = [
  { path: 'metadata/README.md', digest: sha256Digest('readme'), size: 6 },
  { path: 'models/tiny-q4_k_m.gguf', digest: sha256Digest('weights'), size: 7 },
  { path: 'deploy/docker/Dockerfile', digest: sha256Digest('docker'), size: 6 },
  { path: 'metadata/manifest.json', digest: sha256Digest('{}'), size: 2 },
];

describe('buildModelPackArtifact', () => {
  it('puts weights first, then the other files by path, each annotated with its path', () => {
    const { layers } = buildModelPackArtifact(info, files);
    expect(layers.map((layer) => [layer.annotations?.['org.cncf.model.filepath'], layer.mediaType])).toEqual([
      ['models/tiny-q4_k_m.gguf', MODELPACK_WEIGHT_RAW],
      ['deploy/docker/Dockerfile', MODELPACK_DOC_RAW],
      ['metadata/README.md', MODELPACK_DOC_RAW],
      ['metadata/manifest.json', MODELPACK_WEIGHT_CONFIG_RAW],
    ]);
  });

  it('writes a ModelPack config whose diffIds are the layer digests, and a manifest with the artifact type', () => {
    const artifact = buildModelPackArtifact(info, files);
    const config = JSON.parse(artifact.config.bytes.toString('utf8')) as unknown;
    expect(config).toEqual({
      descriptor: {
        createdAt: info.created,
        family: 'llama',
        name: 'Tiny',
        version: info.version,
        title: 'Tiny',
        licenses: ['apache-2.0'],
      },
      config: { architecture: 'transformer', format: 'gguf', paramSize: '135M', quantization: 'Q4_K_M' },
      modelfs: { type: 'layers', diffIds: artifact.layers.map((layer) => layer.digest) },
    });
    const manifest = JSON.parse(artifact.manifest.bytes.toString('utf8')) as Record<string, unknown>;
    expect(manifest.artifactType).toBe(MODELPACK_ARTIFACT);
    expect(manifest.config).toEqual({
      mediaType: MODELPACK_CONFIG,
      digest: sha256Digest(artifact.config.bytes),
      size: artifact.config.bytes.length,
    });
    expect(artifact.manifest.digest).toBe(sha256Digest(artifact.manifest.bytes));
  });

  it('validates against the CNCF model-spec config schema, with every descriptor field Alki knows', () => {
    const validate = modelSpecValidator();
    const full = buildModelPackArtifact(
      {
        ...info,
        quantizations: ['F32', 'Q4_K_M', 'Q8_0', 'BF16'],
        authors: ['acme'],
        sourceUrl: 'https://huggingface.co/acme/tiny',
        revision: '0123456789abcdef0123456789abcdef01234567',
      },
      files,
    );
    const config = JSON.parse(full.config.bytes.toString('utf8')) as { descriptor: unknown; config: unknown };
    expect(validate(config)).toBe(true);
    expect(validate.errors ?? null).toBeNull();
    expect(config.descriptor).toMatchObject({
      authors: ['acme'],
      sourceURL: 'https://huggingface.co/acme/tiny',
      revision: '0123456789abcdef0123456789abcdef01234567',
    });
    expect(config.config).toEqual({
      architecture: 'transformer',
      format: 'gguf',
      paramSize: '135M',
      precision: 'float32,bfloat16',
      quantization: 'Q4_K_M,Q8_0',
    });
    expect(
      validate(JSON.parse(buildModelPackArtifact({ ...info, license: null }, files).config.bytes.toString())),
    ).toBe(true);
  });

  it('is what the schema requires: the config of earlier versions (modelfs.diff_ids) does not validate', () => {
    const validate = modelSpecValidator();
    const current = JSON.parse(buildModelPackArtifact(info, files).config.bytes.toString('utf8')) as {
      modelfs: { diffIds: string[] };
    };
    const earlier = { ...current, modelfs: { type: 'layers', diff_ids: current.modelfs.diffIds } };
    expect(validate(earlier)).toBe(false);
  });

  it('is deterministic: the same bundle gives the same digest whatever the file order', () => {
    expect(buildModelPackArtifact(info, files).manifest.digest).toBe(
      buildModelPackArtifact(info, [...files].reverse()).manifest.digest,
    );
  });
});

describe('formatParamSize and layerMediaType', () => {
  it('formats parameter counts with one decimal and a scale letter, as ModelPack config.md asks', () => {
    expect(formatParamSize(6_740_000_000)).toBe('6.7B');
    expect(formatParamSize(1_000_000_000_000)).toBe('1T');
    expect(formatParamSize(2_500)).toBe('2.5K');
    expect(formatParamSize(12)).toBe('12');
  });

  it('classifies runtime.json as weight config and the SBOM as doc', () => {
    expect(layerMediaType('metadata/runtime.json')).toBe(MODELPACK_WEIGHT_CONFIG_RAW);
    expect(layerMediaType('metadata/sbom.spdx.json')).toBe(MODELPACK_DOC_RAW);
  });
});
