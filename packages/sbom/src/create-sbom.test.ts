import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSbom, createSbom, serializeSbom, type SbomInput } from './index.js';

// The official SPDX 2.3 JSON schema, vendored unchanged (no npm package ships
// it); see vendor/spdx/README.md for its source and license.
const schemaPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../vendor/spdx/spdx-2.3.schema.json',
);

function spdxValidator() {
  const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false });
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
}

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function hubInput(overrides: Partial<SbomInput> = {}): SbomInput {
  return {
    bundle: { name: 'Tiny Llama', slug: 'tiny-llama', version: '2025-01-02.1a2b3c4d' },
    models: [
      { uri: './models/tiny-llama-q4_k_m.gguf', quant: 'Q4_K_M', sha256: SHA_A },
      { uri: './models/tiny-llama-q8_0.gguf', quant: 'Q8_0', sha256: SHA_B },
    ],
    source: {
      repo: 'acme/tiny-llama',
      revision: '0123456789abcdef0123456789abcdef01234567',
      hubUrl: 'https://huggingface.co',
    },
    license: 'apache-2.0',
    created: '2025-01-02T03:04:05Z',
    toolVersion: '0.1.0',
    ...overrides,
  };
}

describe('createSbom', () => {
  const validate = spdxValidator();

  it('writes a document the official SPDX 2.3 schema accepts', () => {
    const document = createSbom(hubInput());
    const valid = validate(document);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('lists each model file as a package with its SHA256', () => {
    const document = createSbom(hubInput());
    const models = document.packages.filter((p) => p.packageFileName);
    expect(models.map((p) => [p.packageFileName, p.checksums])).toEqual([
      ['./models/tiny-llama-q4_k_m.gguf', [{ algorithm: 'SHA256', checksumValue: SHA_A }]],
      ['./models/tiny-llama-q8_0.gguf', [{ algorithm: 'SHA256', checksumValue: SHA_B }]],
    ]);
  });

  it('lists a vision projector of the same quant as a model under its own package id, as a projector', () => {
    const projector = { uri: './models/mmproj-tiny-llama-f16.gguf', quant: 'F16', sha256: SHA_B };
    const input = hubInput({
      models: [
        { uri: './models/tiny-llama-f16.gguf', quant: 'F16', sha256: SHA_A },
        { ...projector, role: 'mmproj' },
      ],
    });
    const document = createSbom(input);
    expect(validate(document)).toBe(true);
    const files = document.packages.filter((p) => p.packageFileName);
    expect(files.map((p) => [p.SPDXID, p.comment])).toEqual([
      ['SPDXRef-Package-model-F16', 'GGUF model, quantization F16.'],
      ['SPDXRef-Package-mmproj-F16', 'GGUF vision projector (mmproj), F16.'],
    ]);
    expect(checkSbom(document, input.models)).toEqual([]);
  });

  it('takes supplier and originator from the hub organisation, and puts the revision in the download location', () => {
    const document = createSbom(hubInput());
    const source = document.packages.find((p) => p.primaryPackagePurpose === 'SOURCE');
    expect(source).toMatchObject({
      name: 'acme/tiny-llama',
      versionInfo: '0123456789abcdef0123456789abcdef01234567',
      supplier: 'Organization: acme',
      originator: 'Organization: acme',
      downloadLocation: 'git+https://huggingface.co/acme/tiny-llama@0123456789abcdef0123456789abcdef01234567',
    });
    expect(document.creationInfo.creators).toEqual(['Tool: alki-0.1.0']);
  });

  it('relates the document, bundle, models and source with DESCRIBES, CONTAINS and GENERATED_FROM', () => {
    const document = createSbom(hubInput());
    const bundle = document.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
    const source = document.packages.find((p) => p.primaryPackagePurpose === 'SOURCE')!;
    const models = document.packages.filter((p) => p.primaryPackagePurpose === 'FILE');
    expect(document.relationships).toEqual([
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: bundle.SPDXID },
      ...models.map((m) => ({
        spdxElementId: bundle.SPDXID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: m.SPDXID,
      })),
      ...models.map((m) => ({
        spdxElementId: m.SPDXID,
        relationshipType: 'GENERATED_FROM',
        relatedSpdxElement: source.SPDXID,
      })),
    ]);
  });

  it('lists an importance matrix with its SHA256 and texts, and the models quantized with it as GENERATED_FROM it', () => {
    const imatrix = {
      name: 'tiny.imatrix',
      sha256: 'c'.repeat(64),
      datasets: ['wiki.train.raw'],
      quants: ['Q4_K_M'],
    };
    const document = createSbom(hubInput({ imatrix }));
    expect(spdxValidator()(document)).toBe(true);
    const matrix = document.packages.find((p) => p.name === 'tiny.imatrix')!;
    expect(matrix).toMatchObject({
      checksums: [{ algorithm: 'SHA256', checksumValue: 'c'.repeat(64) }],
      primaryPackagePurpose: 'OTHER',
      comment: 'Importance matrix the Q4_K_M models were quantized with; computed from "wiki.train.raw".',
    });
    const q4 = document.packages.find((p) => p.packageFileName === './models/tiny-llama-q4_k_m.gguf')!;
    const fromMatrix = document.relationships.filter((r) => r.relatedSpdxElement === matrix.SPDXID);
    expect(fromMatrix).toEqual([
      { spdxElementId: q4.SPDXID, relationshipType: 'GENERATED_FROM', relatedSpdxElement: matrix.SPDXID },
    ]);
    expect(document.documentNamespace).not.toBe(createSbom(hubInput()).documentNamespace);
  });

  it('refuses an importance matrix with a bad hash or naming a quant the bundle lacks', () => {
    const imatrix = { name: 'm.imatrix', sha256: 'c'.repeat(64), datasets: [], quants: ['Q4_K_M'] };
    expect(() => createSbom(hubInput({ imatrix: { ...imatrix, sha256: 'xyz' } }))).toThrow(
      /importance matrix has no valid SHA-256/,
    );
    expect(() => createSbom(hubInput({ imatrix: { ...imatrix, quants: ['Q2_K'] } }))).toThrow(
      'The importance matrix names Q2_K, which no model file is.',
    );
  });

  it('uses the SPDX id for a known license and a LicenseRef with extracted text for others', () => {
    expect(createSbom(hubInput()).packages[0].licenseDeclared).toBe('Apache-2.0');
    const custom = createSbom(
      hubInput({ license: 'llama3.1', licenseText: 'LLAMA 3.1 COMMUNITY LICENSE AGREEMENT ...' }),
    );
    expect(custom.packages[0].licenseDeclared).toBe('LicenseRef-llama3.1');
    expect(custom.hasExtractedLicensingInfos).toEqual([
      {
        licenseId: 'LicenseRef-llama3.1',
        name: 'llama3.1',
        extractedText: 'LLAMA 3.1 COMMUNITY LICENSE AGREEMENT ...',
      },
    ]);
    expect(validate(custom)).toBe(true);
  });

  it('writes NOASSERTION for local sources with no license and no hub', () => {
    const local = createSbom(hubInput({ source: { repo: 'model.gguf', revision: null }, license: null }));
    expect(validate(local)).toBe(true);
    const source = local.packages.find((p) => p.primaryPackagePurpose === 'SOURCE');
    expect(source).toMatchObject({
      downloadLocation: 'NOASSERTION',
      supplier: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
    });
    expect(source?.versionInfo).toBeUndefined();
  });

  it('is deterministic, and the namespace changes when the content does', () => {
    expect(serializeSbom(createSbom(hubInput()))).toBe(serializeSbom(createSbom(hubInput())));
    const other = createSbom(
      hubInput({ models: [{ uri: './models/tiny-llama-q8_0.gguf', quant: 'Q8_0', sha256: SHA_A }] }),
    );
    expect(other.documentNamespace).not.toBe(createSbom(hubInput()).documentNamespace);
  });

  it('keeps hostile names valid: quotes, newlines and odd characters in ids are sanitised', () => {
    const hostile = createSbom(
      hubInput({
        bundle: { name: 'evil "name"\n$HOME %s {{x}}', slug: 'evil-name', version: '1' },
        license: 'My "Custom" License\n',
      }),
    );
    expect(validate(hostile)).toBe(true);
    expect(hostile.packages[0].name).toBe('evil "name"\n$HOME %s {{x}}');
    expect(hostile.packages[0].licenseDeclared).toBe('LicenseRef-my-custom-license');
  });

  it('refuses an input without models or with a bad hash or time', () => {
    expect(() => createSbom(hubInput({ models: [] }))).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(() =>
      createSbom(hubInput({ models: [{ uri: './models/x.gguf', quant: 'Q8_0', sha256: 'xyz' }] })),
    ).toThrow(/SHA-256/);
    expect(() => createSbom(hubInput({ created: '2025-01-02 03:04' }))).toThrow(/creation time/);
  });
});

describe('checkSbom', () => {
  const input = hubInput();

  it('accepts the document createSbom wrote for the same models', () => {
    expect(checkSbom(createSbom(input), input.models)).toEqual([]);
  });

  it('names a model whose hash disagrees or that has no package', () => {
    const changed = [
      { ...input.models[0], sha256: 'c'.repeat(64) },
      { ...input.models[1], uri: './models/other.gguf' },
    ];
    expect(checkSbom(createSbom(input), changed)).toEqual([
      `the package for ./models/tiny-llama-q4_k_m.gguf has SHA256 ${SHA_A}, the model has ${'c'.repeat(64)}`,
      'no package for ./models/other.gguf',
    ]);
  });

  it('rejects something that is not an SPDX 2.3 document', () => {
    expect(checkSbom('nope', [])).toEqual(['the SBOM is not a JSON object']);
    expect(checkSbom({ spdxVersion: 'SPDX-2.2' }, [])).toEqual([
      'spdxVersion is "SPDX-2.2", not "SPDX-2.3"',
      'SPDXID is not SPDXRef-DOCUMENT',
      'no DESCRIBES relationship from the document',
    ]);
  });
});
