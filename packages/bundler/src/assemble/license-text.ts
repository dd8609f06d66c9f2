import { resolveLicense } from '@alki/sbom';
import type { BundleContent } from './content.js';

/**
 * metadata/LICENSE.txt: the license text the source ships, verbatim; else a
 * short note naming the license and where to read it.
 */
export function renderLicenseText(content: BundleContent): string {
  if (content.licenseText && content.licenseText.trim()) {
    return content.licenseText.endsWith('\n') ? content.licenseText : `${content.licenseText}\n`;
  }
  const resolved = resolveLicense(content.license);
  const lines = [
    `Model: ${content.name}`,
    `Source: ${content.source.repo}${content.source.revision ? ` @ ${content.source.revision}` : ''}`,
  ];
  if (resolved.expression === 'NOASSERTION') {
    lines.push(
      'License: unknown. The source names no license; check with its publisher before you deploy it.',
    );
  } else if (resolved.isReference) {
    lines.push(`License: ${content.license} (not an SPDX license; SBOM id ${resolved.expression}).`);
    lines.push('The source shipped no license text; read the terms on the model card before you deploy it.');
  } else {
    lines.push(`License: ${resolved.expression} (SPDX).`);
    lines.push(
      `The source shipped no license text; the license is at https://spdx.org/licenses/${resolved.expression}.html`,
    );
  }
  return `${lines.join('\n')}\n`;
}
