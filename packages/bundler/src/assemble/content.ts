import type { ModelFacts } from '../model/model-facts.js';
import type { BundleArtifact, BundleImatrix, BundleSource, RuntimeArgs } from '../format/types.js';

/**
 * Everything a bundle's text files are made from, once the models are in
 * place and hashed. Plain data: the renderers below never touch the disk.
 */
export interface BundleContent {
  name: string;
  slug: string;
  version: string;
  /** ISO 8601 UTC, seconds precision. */
  created: string;
  artifacts: BundleArtifact[];
  defaults: RuntimeArgs;
  /** Facts of the first artifact (all artifacts share the architecture). */
  facts: ModelFacts;
  source: BundleSource;
  /** The hub base URL for hub sources. */
  hubUrl?: string;
  license: string | null;
  licenseText?: string;
  alkiVersion: string;
  imatrix?: BundleImatrix;
  /** The trust policy the bundle carries (TRUST_POLICY_PATH), as JSON text; its deploy configs then verify it. */
  trustPolicy?: string;
}

/** The bundle version: the creation date, then the first 8 hex digits of the first artifact's hash. */
export function bundleVersion(created: string, firstSha256: string): string {
  return `${created.slice(0, 10)}.${firstSha256.slice(0, 8)}`;
}

/** An ISO 8601 UTC time at whole seconds, as SOURCE_DATE_EPOCH users expect. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
