import { formatReference, parseReference } from '@alki/oci';
import { PublishError } from '../errors.js';

/**
 * The repository a bundle is published to: `--registry host/ns` plus the
 * bundle's slug. `--registry` names a place, not an image, so a tag or
 * digest there is refused.
 *
 * @example
 * publishRepository('registry.example.com/ai', 'qwen3-0-6b'); // 'registry.example.com/ai/qwen3-0-6b'
 */
export function publishRepository(registryArg: string, slug: string): string {
  const parsed = parseReference(`${registryArg.replace(/\/+$/, '')}/${slug}`);
  if (parsed.tag || parsed.digest) {
    throw new PublishError(
      'INVALID_REFERENCE',
      `--registry takes host[/namespace], not a tag or digest: "${registryArg}".`,
      { hint: 'Pass the tag with --tag.', details: { registry: registryArg } },
    );
  }
  return formatReference(parsed);
}
