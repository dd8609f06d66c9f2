import { OciError, parseReference, type RegistryClient } from '@alki/oci';
import { AgentError } from '../errors.js';

/** What the agent follows: a tag that the publisher moves, or one pinned digest. */
export interface Channel {
  /** As given, for logs and the state file. */
  text: string;
  registry: string;
  repository: string;
  /** The tag followed; absent for a pinned digest. */
  tag?: string;
  /** The pinned digest; absent for a tag. */
  digest?: string;
}

/**
 * Parses `host/repo:tag` or `host/repo@sha256:...` (a tag with a digest pins
 * the digest). A reference with neither follows `latest`, as `alki pull`
 * does.
 *
 * @example
 * parseChannel('registry.local:5000/models/qwen3:stable');
 * // { registry: 'registry.local:5000', repository: 'models/qwen3', tag: 'stable', ... }
 */
export function parseChannel(text: string): Channel {
  if (text.startsWith('oci:'))
    throw new AgentError(
      'INVALID_INPUT',
      `The channel ${text} is an OCI layout; the agent follows a registry.`,
      {
        hint: 'Name a registry repository and tag, such as registry.local:5000/models/qwen3:stable.',
        details: { channel: text },
      },
    );
  const reference = parseReference(text);
  const base = { text, registry: reference.registry, repository: reference.repository };
  return reference.digest
    ? { ...base, digest: reference.digest }
    : { ...base, tag: reference.tag ?? 'latest' };
}

/**
 * The manifest digest the channel names now: the pinned digest as it is, or
 * what the tag points at (a HEAD request).
 */
export async function resolveChannel(
  channel: Channel,
  client: RegistryClient,
  signal?: AbortSignal,
): Promise<string> {
  if (channel.digest) return channel.digest;
  const tag = channel.tag as string;
  const found = await client.headManifest(channel.repository, tag, signal);
  if (!found)
    throw new OciError('NOT_FOUND', `${channel.registry}/${channel.repository} has no tag ${tag}.`, {
      hint: `Publish a bundle there (alki publish ... --tag ${tag}), or list the tags with \`alki tags ${channel.registry}/${channel.repository}\`.`,
      details: { channel: channel.text },
    });
  return found.digest;
}
