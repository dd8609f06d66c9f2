// Hugging Face model cards name licenses with the hub's own lower-case ids
// (the `license:` field of the card's YAML, listed in the hub's docs under
// "Licenses"). Those that are SPDX License List ids map to their canonical
// spelling; the rest (llama3, gemma, other...) become LicenseRefs, which
// SPDX 2.3 section 10 requires to carry their text in
// hasExtractedLicensingInfos.
const SPDX_IDS = [
  '0BSD',
  'AFL-3.0',
  'AGPL-3.0-only',
  'AGPL-3.0-or-later',
  'Apache-2.0',
  'Artistic-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'BSD-3-Clause-Clear',
  'BSL-1.0',
  'C-UDA-1.0',
  'CC0-1.0',
  'CC-BY-2.0',
  'CC-BY-2.5',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'CC-BY-NC-2.0',
  'CC-BY-NC-3.0',
  'CC-BY-NC-4.0',
  'CC-BY-NC-ND-3.0',
  'CC-BY-NC-ND-4.0',
  'CC-BY-NC-SA-2.0',
  'CC-BY-NC-SA-3.0',
  'CC-BY-NC-SA-4.0',
  'CC-BY-ND-4.0',
  'CC-BY-SA-3.0',
  'CC-BY-SA-4.0',
  'CDLA-Permissive-1.0',
  'CDLA-Permissive-2.0',
  'CDLA-Sharing-1.0',
  'ECL-2.0',
  'EPL-1.0',
  'EPL-2.0',
  'etalab-2.0',
  'EUPL-1.1',
  'EUPL-1.2',
  'GFDL-1.3-only',
  'GPL-2.0-only',
  'GPL-2.0-or-later',
  'GPL-3.0-only',
  'GPL-3.0-or-later',
  'ISC',
  'LGPL-2.1-only',
  'LGPL-2.1-or-later',
  'LGPL-3.0-only',
  'LGPL-3.0-or-later',
  'LPPL-1.3c',
  'MIT',
  'MPL-2.0',
  'MS-PL',
  'NCSA',
  'ODbL-1.0',
  'ODC-By-1.0',
  'OFL-1.1',
  'OSL-3.0',
  'PDDL-1.0',
  'PostgreSQL',
  'Unlicense',
  'WTFPL',
  'Zlib',
];

// Hub ids whose spelling differs from the SPDX id they mean.
const HUB_ALIASES: Record<string, string> = {
  'agpl-3.0': 'AGPL-3.0-only',
  'gpl-2.0': 'GPL-2.0-only',
  'gpl-3.0': 'GPL-3.0-only',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-3.0': 'LGPL-3.0-only',
  gfdl: 'GFDL-1.3-only',
  'c-uda': 'C-UDA-1.0',
  odbl: 'ODbL-1.0',
  'odc-by': 'ODC-By-1.0',
  pddl: 'PDDL-1.0',
};

const BY_LOWER_CASE = new Map(SPDX_IDS.map((id) => [id.toLowerCase(), id]));

/** How a license name appears in the SBOM. */
export interface ResolvedLicense {
  /** An SPDX license id (`Apache-2.0`), a `LicenseRef-...`, or `NOASSERTION` when nothing is known. */
  expression: string;
  /** True when `expression` is a LicenseRef that needs extracted text. */
  isReference: boolean;
}

/**
 * Maps a license as a model card or GGUF names it to an SPDX expression:
 * a known SPDX id in its canonical case, else a `LicenseRef-` built from the
 * name, else NOASSERTION.
 *
 * @example
 * resolveLicense('apache-2.0'); // { expression: 'Apache-2.0', isReference: false }
 * resolveLicense('llama3.1');   // { expression: 'LicenseRef-llama3.1', isReference: true }
 */
export function resolveLicense(name: string | null | undefined): ResolvedLicense {
  const trimmed = (name ?? '').trim();
  if (!trimmed || trimmed.toLowerCase() === 'unknown')
    return { expression: 'NOASSERTION', isReference: false };
  const lower = trimmed.toLowerCase();
  const known = HUB_ALIASES[lower] ?? BY_LOWER_CASE.get(lower);
  if (known) return { expression: known, isReference: false };
  if (/^LicenseRef-[A-Za-z0-9.-]+$/.test(trimmed)) return { expression: trimmed, isReference: true };
  // SPDX 2.3 section 10.1: a LicenseRef idstring holds letters, digits, "." and "-" only.
  const idstring = lower.replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';
  return { expression: `LicenseRef-${idstring}`, isReference: true };
}
