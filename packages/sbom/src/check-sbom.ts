import type { SbomModelFile } from './types.js';

/**
 * Checks a parsed sbom.spdx.json against the model files a bundle holds:
 * an SPDX 2.3 document that DESCRIBES something, with a package per model
 * file carrying the same SHA-256, each GENERATED_FROM a package. Returns the
 * problems found, in sentences; an empty list means it agrees.
 *
 * This is a consistency check for `alki verify`; full validation against the
 * official SPDX JSON schema is done in this package's tests.
 *
 * @example
 * const problems = checkSbom(JSON.parse(text), manifest.artifacts);
 * if (problems.length) console.error(problems.join('\n'));
 */
export function checkSbom(document: unknown, models: readonly SbomModelFile[]): string[] {
  if (typeof document !== 'object' || document === null) return ['the SBOM is not a JSON object'];
  const doc = document as {
    spdxVersion?: unknown;
    SPDXID?: unknown;
    packages?: unknown;
    relationships?: unknown;
  };
  const problems: string[] = [];
  if (doc.spdxVersion !== 'SPDX-2.3')
    problems.push(`spdxVersion is ${JSON.stringify(doc.spdxVersion)}, not "SPDX-2.3"`);
  if (doc.SPDXID !== 'SPDXRef-DOCUMENT') problems.push('SPDXID is not SPDXRef-DOCUMENT');
  const packages = Array.isArray(doc.packages) ? (doc.packages as Array<Record<string, unknown>>) : [];
  const relationships = Array.isArray(doc.relationships)
    ? (doc.relationships as Array<Record<string, unknown>>)
    : [];
  if (
    !relationships.some((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES')
  ) {
    problems.push('no DESCRIBES relationship from the document');
  }
  for (const model of models) {
    const entry = packages.find((p) => p.packageFileName === model.uri);
    if (!entry) {
      problems.push(`no package for ${model.uri}`);
      continue;
    }
    const checksums = Array.isArray(entry.checksums)
      ? (entry.checksums as Array<Record<string, unknown>>)
      : [];
    const sha = checksums.find((c) => c.algorithm === 'SHA256')?.checksumValue;
    if (sha !== model.sha256)
      problems.push(`the package for ${model.uri} has SHA256 ${String(sha)}, the model has ${model.sha256}`);
    if (
      !relationships.some((r) => r.spdxElementId === entry.SPDXID && r.relationshipType === 'GENERATED_FROM')
    ) {
      problems.push(`${model.uri} has no GENERATED_FROM relationship`);
    }
  }
  return problems;
}
