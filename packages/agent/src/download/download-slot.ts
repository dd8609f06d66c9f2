import { readBundle } from '@alki/bundler';
import { describeSystemError } from '@alki/errors';
import { registryStore, type RegistryClient } from '@alki/oci';
import { pullBundle, stagingPathOf, type PullOptions } from '@alki/registry-publisher';
import {
  pullVerifiedBundle,
  SignerError,
  verifySignedBundle,
  type PullVerifiedOptions,
  type TrustPolicy,
} from '@alki/signer';
import fs from 'node:fs';
import { AgentError } from '../errors.js';
import type { Channel } from '../channel/channel.js';
import { slotDir, type AgentPaths } from '../slots/agent-paths.js';
import { readCurrentLink } from '../slots/current-link.js';
import type { SlotRecord } from '../state/agent-state.js';
import { bytesUnder, syncTree, type FreeSpaceProbe } from './disk-space.js';

/**
 * A trust policy every downloaded bundle must pass before it may be served:
 * the signatures attached to it in the registry (OCI 1.1 referrers, as
 * `alki publish --sign` and `alki sign` attach them) are judged.
 */
export interface TrustCheck {
  policy: TrustPolicy;
  options?: PullVerifiedOptions['trust'];
}

export interface DownloadSlotOptions {
  client: RegistryClient;
  channel: Channel;
  paths: AgentPaths;
  digest: string;
  trust?: TrustCheck;
  freeSpace: FreeSpaceProbe;
  /** Bytes that must stay free after the download (logs, the server's own files). */
  reserveBytes: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

// The layer sizes of a bundle's manifest: what the download will write.
async function bundleBytes(options: DownloadSlotOptions): Promise<number> {
  const fetched = await options.client.getManifest(
    options.channel.repository,
    options.digest,
    options.signal,
  );
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as { layers?: Array<{ size?: unknown }> };
  return (manifest.layers ?? []).reduce(
    (sum, layer) => sum + (typeof layer.size === 'number' && layer.size > 0 ? layer.size : 0),
    0,
  );
}

/**
 * Fetches the bundle `digest` names into its slot, beside the slot being
 * served, which it never touches: every file is checked against its digest
 * and the bundle's manifest as it arrives (pullBundle), and everything is
 * flushed to disk before the staging directory is renamed to the slot.
 * Under a trust policy it is @alki/signer's pullVerifiedBundle: a bundle
 * whose attached signatures fail the policy is refused (UNTRUSTED_BUNDLE)
 * before its first byte, and a staged bundle that fails it is removed; a
 * slot already on the disk is used only if it verifies under the policy.
 * The download resumes after a crash or power cut. It is refused before the
 * first byte when it would not fit on the disk with `reserveBytes` to spare;
 * a disk that fills up anyway (ENOSPC) loses the staged files and gives the
 * same NO_SPACE error.
 *
 * @example
 * const slot = await downloadSlot({ client, channel, paths, digest, freeSpace, reserveBytes: 64 << 20 });
 */
export async function downloadSlot(options: DownloadSlotOptions): Promise<SlotRecord> {
  const { paths, digest, signal } = options;
  const dir = slotDir(paths, digest);
  const staging = stagingPathOf(dir);
  const existing = await readBundle(dir).catch(() => undefined);
  if (existing) {
    const { trust } = options;
    const report = trust && (await verifySignedBundle(dir, trust.policy, { ...trust.options, signal }));
    if (!report || report.ok)
      return { digest, name: existing.manifest.name, version: existing.manifest.version };
    // The slot being served is never moved.
    if ((await readCurrentLink(paths)) === digest)
      throw new AgentError(
        'UNTRUSTED_BUNDLE',
        `The slot of ${digest}, which is being served, does not verify under the trust policy (${report.failures.map((f) => f.message).join(' ')}); it is left as it is.`,
        { details: { digest, failures: report.failures } },
      );
    // A slot from before the policy (no trusted signature in it): it becomes
    // the staging dir in one rename, so the download below resumes from its
    // files and judges it by the signatures in the registry, or removes it.
    await fs.promises.rm(staging, { recursive: true, force: true });
    await fs.promises.rename(dir, staging);
  }

  await fs.promises.mkdir(paths.slots, { recursive: true });
  const total = await bundleBytes(options);
  const staged = await bytesUnder(staging);
  const free = await options.freeSpace(paths.slots);
  const needed = Math.max(0, total - staged) + options.reserveBytes;
  if (needed > free) {
    throw new AgentError(
      'NO_SPACE',
      `The bundle ${digest} needs ${mib(total - staged)} more (and ${mib(options.reserveBytes)} kept free), but ${paths.slots} has ${mib(free)} available; it was not downloaded.`,
      {
        hint: 'Free space on that file system, keep fewer slots (--keep), or lower --reserve.',
        details: { digest, needed, free, total, staged, dir: paths.slots },
      },
    );
  }
  const pull: Omit<PullOptions, 'store' | 'reference'> = {
    outDir: dir,
    resumable: true,
    signal,
    onProgress: (event) => options.onProgress?.(event.done, event.total),
    // Everything on the disk before the rename: a power cut leaves the staging dir or the whole slot.
    check: syncTree,
  };
  const { client, channel } = options;
  try {
    // Under a trust policy, @alki/signer's pullVerifiedBundle: the signatures
    // in the registry are judged before the first byte of the bundle, and the
    // staged bundle (with the trusted signatures) is verified again.
    const pulled = options.trust
      ? await pullVerifiedBundle({
          ...pull,
          client,
          repository: channel.repository,
          reference: digest,
          policy: options.trust.policy,
          trust: options.trust.options,
        })
      : await pullBundle({ ...pull, store: registryStore(client, channel.repository), reference: digest });
    return { digest, name: pulled.name, version: pulled.version };
  } catch (error) {
    const system = describeSystemError(error);
    if (system?.code === 'ENOSPC' || system?.code === 'EDQUOT') {
      await fs.promises.rm(staging, { recursive: true, force: true });
      throw new AgentError(
        'NO_SPACE',
        `The disk filled up while the bundle ${digest} was downloading (${system.message}); the partial download was removed.`,
        {
          cause: error,
          hint: 'Free space on that file system, keep fewer slots (--keep), or raise --reserve.',
          details: { digest, dir: paths.slots },
        },
      );
    }
    // An untrusted or corrupt bundle must not be resumed from.
    if ((error as { category?: string }).category === 'check')
      await fs.promises.rm(staging, { recursive: true, force: true });
    if (error instanceof SignerError && error.code === 'VERIFICATION_FAILED')
      throw new AgentError('UNTRUSTED_BUNDLE', error.message, {
        cause: error,
        hint: 'Publish the bundle signed by a key or identity the policy trusts (alki publish --sign --key, or alki sign <registry reference> --key), or change the policy.',
        details: { digest, ...error.details },
      });
    throw error;
  }
}
