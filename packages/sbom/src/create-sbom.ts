import { createHash } from 'node:crypto';
import { SbomError } from './errors.js';
import { resolveLicense } from './license.js';
import type {
  SbomInput,
  SpdxDocument,
  SpdxExtractedLicense,
  SpdxPackage,
  SpdxRelationship,
} from './types.js';

/** Where Alki's document namespaces live; a namespace only has to be a unique URI (SPDX 2.3 section 6.5). */
const NAMESPACE_BASE = 'https://alki.dev/spdx';

// SPDX 2.3 section 3.2: an SPDX id is "SPDXRef-" then letters, digits, "." and "-".
function spdxId(kind: string, label: string): string {
  return `SPDXRef-${kind}-${label.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x'}`;
}

/** The organisation part of `org/name`, for supplier and originator. */
function hubOrganization(repo: string): string | undefined {
  const slash = repo.indexOf('/');
  return slash > 0 ? repo.slice(0, slash) : undefined;
}

// SPDX 2.3 section 7.7: a VCS download location is
// <vcs>+<transport>://<host>/<path>@<revision>. A hub repo is a git repo.
function downloadLocation(source: SbomInput['source']): string {
  if (!source.hubUrl) return 'NOASSERTION';
  const base = source.hubUrl.replace(/\/+$/, '');
  return `git+${base}/${source.repo}${source.revision ? `@${source.revision}` : ''}`;
}

function validate(input: SbomInput): void {
  if (input.models.length === 0)
    throw new SbomError('INVALID_INPUT', 'An SBOM needs at least one model file.');
  for (const model of input.models) {
    if (!/^[0-9a-f]{64}$/.test(model.sha256)) {
      throw new SbomError(
        'INVALID_INPUT',
        `${model.uri} has no valid SHA-256 (${JSON.stringify(model.sha256)}).`,
        {
          details: { uri: model.uri },
        },
      );
    }
  }
  if (input.imatrix) {
    const { sha256, quants } = input.imatrix;
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new SbomError(
        'INVALID_INPUT',
        `The importance matrix has no valid SHA-256 (${JSON.stringify(sha256)}).`,
      );
    const unknown = quants.find((quant) => !input.models.some((model) => model.quant === quant));
    if (unknown !== undefined) {
      throw new SbomError(
        'INVALID_INPUT',
        `The importance matrix names ${unknown}, which no model file is.`,
        {
          details: { quant: unknown },
        },
      );
    }
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(input.created)) {
    throw new SbomError(
      'INVALID_INPUT',
      `The creation time ${JSON.stringify(input.created)} is not YYYY-MM-DDThh:mm:ssZ (SPDX 2.3 section 6.9).`,
    );
  }
}

/**
 * Builds the SPDX 2.3 document of a bundle: the bundle, each model file with
 * its SHA-256, and the source checkpoint. The document DESCRIBES the bundle,
 * the bundle CONTAINS each model, and each model is GENERATED_FROM the
 * source. An importance matrix, when given, is a package too (its SHA-256,
 * and its calibration texts in the comment), and each model quantized with
 * it is GENERATED_FROM it as well. Same input, same document: nothing
 * depends on the clock.
 *
 * @example
 * const doc = createSbom({
 *   bundle: { name: 'tiny', slug: 'tiny', version: '2025-01-01.1' },
 *   models: [{ uri: './models/tiny-q8_0.gguf', quant: 'Q8_0', sha256: 'ab'.repeat(32) }],
 *   source: { repo: 'acme/tiny', revision: 'abc123', hubUrl: 'https://huggingface.co' },
 *   license: 'apache-2.0',
 *   created: '2025-01-01T00:00:00Z',
 *   toolVersion: '0.1.0',
 * });
 */
export function createSbom(input: SbomInput): SpdxDocument {
  validate(input);
  const license = resolveLicense(input.license);
  const organization = input.source.hubUrl ? hubOrganization(input.source.repo) : undefined;
  const agent = organization ? `Organization: ${organization}` : 'NOASSERTION';

  const bundleId = spdxId('Package', `bundle-${input.bundle.slug}`);
  const sourceId = spdxId('Package', 'source');
  const sourcePackage: SpdxPackage = {
    SPDXID: sourceId,
    name: input.source.repo,
    ...(input.source.revision ? { versionInfo: input.source.revision } : {}),
    supplier: agent,
    originator: agent,
    downloadLocation: downloadLocation(input.source),
    ...(input.source.hubUrl
      ? { homepage: `${input.source.hubUrl.replace(/\/+$/, '')}/${input.source.repo}` }
      : {}),
    filesAnalyzed: false,
    licenseConcluded: license.expression,
    licenseDeclared: license.expression,
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'SOURCE',
    comment: 'The checkpoint the model files were converted or copied from.',
  };
  const bundlePackage: SpdxPackage = {
    SPDXID: bundleId,
    name: input.bundle.name,
    versionInfo: input.bundle.version,
    supplier: 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: license.expression,
    licenseDeclared: license.expression,
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    comment: `Alki deployment bundle ${input.bundle.slug}.`,
  };
  const modelPackages: SpdxPackage[] = input.models.map((model) => ({
    // A projector may have the quant of a model (both F16): the role keeps the ids apart.
    SPDXID: spdxId('Package', `${model.role === 'mmproj' ? 'mmproj' : 'model'}-${model.quant}`),
    name: model.uri.replace(/^.*\//, ''),
    versionInfo: input.bundle.version,
    packageFileName: model.uri,
    supplier: agent,
    originator: agent,
    downloadLocation: downloadLocation(input.source),
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: model.sha256 }],
    licenseConcluded: license.expression,
    licenseDeclared: license.expression,
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'FILE',
    comment:
      model.role === 'mmproj'
        ? `GGUF vision projector (mmproj), ${model.quant}.`
        : `GGUF model, quantization ${model.quant}.`,
  }));

  const imatrixPackage: SpdxPackage | undefined = input.imatrix && {
    SPDXID: spdxId('Package', 'imatrix'),
    name: input.imatrix.name,
    supplier: 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: input.imatrix.sha256 }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'OTHER',
    comment: `Importance matrix the ${input.imatrix.quants.join(', ')} models were quantized with; computed from ${
      input.imatrix.datasets.length > 0
        ? input.imatrix.datasets.map((text) => JSON.stringify(text)).join(', ')
        : 'calibration text the file does not name'
    }.`,
  };

  const relationships: SpdxRelationship[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: bundleId },
    ...modelPackages.map((model): SpdxRelationship => ({
      spdxElementId: bundleId,
      relationshipType: 'CONTAINS',
      relatedSpdxElement: model.SPDXID,
    })),
    ...modelPackages.map((model): SpdxRelationship => ({
      spdxElementId: model.SPDXID,
      relationshipType: 'GENERATED_FROM',
      relatedSpdxElement: sourceId,
    })),
    ...(imatrixPackage
      ? input.models
          .map((model, i) => ({ model, id: modelPackages[i].SPDXID }))
          .filter(({ model }) => input.imatrix?.quants.includes(model.quant))
          .map(({ id }): SpdxRelationship => ({
            spdxElementId: id,
            relationshipType: 'GENERATED_FROM',
            relatedSpdxElement: imatrixPackage.SPDXID,
          }))
      : []),
  ];

  const extracted: SpdxExtractedLicense[] = license.isReference
    ? [
        {
          licenseId: license.expression,
          name: input.license ?? license.expression,
          extractedText:
            input.licenseText?.trim() ||
            `The source names its license "${input.license ?? ''}" and ships no license text; see ${sourcePackage.homepage ?? 'the source'}.`,
        },
      ]
    : [];

  // The namespace must be unique per document; deriving it from the content
  // keeps it unique without a random UUID that would break reproducibility.
  const contentDigest = createHash('sha256')
    .update(JSON.stringify([input.bundle, input.models, input.source, input.created, input.imatrix ?? null]))
    .digest('hex')
    .slice(0, 32);

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.bundle.slug}-${input.bundle.version}`,
    documentNamespace: `${NAMESPACE_BASE}/${encodeURIComponent(input.bundle.slug)}/${encodeURIComponent(input.bundle.version)}-${contentDigest}`,
    creationInfo: { created: input.created, creators: [`Tool: alki-${input.toolVersion}`] },
    packages: [bundlePackage, ...modelPackages, sourcePackage, ...(imatrixPackage ? [imatrixPackage] : [])],
    relationships,
    ...(extracted.length ? { hasExtractedLicensingInfos: extracted } : {}),
  };
}

/**
 * The document as the bytes Alki writes: two-space JSON, a final newline,
 * property order fixed by createSbom, so the same input gives the same file.
 */
export function serializeSbom(document: SpdxDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
