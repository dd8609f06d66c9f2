import { projectorArtifact } from '../format/artifacts.js';
import type { BundleFileEntry, BundleManifest } from '../format/types.js';
import { templateFamily } from '../model/model-facts.js';
import type { BundleContent } from './content.js';

/**
 * manifest.json from the content and the hashes of every other file. Keys in
 * a fixed order. Format 2 only when the bundle has a vision projector, so a
 * text-only bundle stays readable by every reader of format 1.
 */
export function buildManifest(content: BundleContent, files: BundleFileEntry[]): BundleManifest {
  return {
    schema_version: projectorArtifact(content) ? 2 : 1,
    name: content.name,
    slug: content.slug,
    version: content.version,
    artifacts: content.artifacts,
    defaults: content.defaults,
    template: templateFamily(content.facts.chatTemplate),
    license: content.license,
    architecture: content.facts.architecture,
    parameter_count: content.facts.parameterCount,
    context_length: content.facts.contextLength,
    source: content.source,
    ...(content.imatrix ? { imatrix: content.imatrix } : {}),
    alki_version: content.alkiVersion,
    created: content.created,
    files: [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

/** Manifest and runtime JSON as written: two-space indent and a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
