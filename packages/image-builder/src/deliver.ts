import path from 'node:path';
import { exportOciLayout, writeDockerArchive } from './image/export.js';
import { pushImage, type RegistryAccess } from './image/registry-transfer.js';

/** Where a built image goes besides the store. */
export interface DeliveryTargets {
  /** Write an OCI image layout directory holding only this image. */
  ociLayout?: string;
  /** Write a docker-archive tar (`docker load` / `podman load`). */
  dockerArchive?: string;
  /** Push to this registry reference. */
  push?: string;
  /** Replace an existing layout directory or archive. */
  force?: boolean;
}

export interface Delivered {
  ociLayout?: string;
  dockerArchive?: string;
  /** `reference@digest` as pushed. */
  pushed?: string;
}

/**
 * Copies an image from the store to each requested target.
 *
 * @example
 * await deliverImage(imageStoreDir(), 'acme/tiny:latest', { dockerArchive: './tiny.tar', push: '127.0.0.1:5000/acme/tiny:latest' });
 */
export async function deliverImage(
  storeDir: string,
  tag: string,
  targets: DeliveryTargets,
  options: RegistryAccess & {
    signal?: AbortSignal;
    onProgress?: (bytes: number, total: number) => void;
  } = {},
): Promise<Delivered> {
  const delivered: Delivered = {};
  if (targets.ociLayout) {
    await exportOciLayout(storeDir, tag, targets.ociLayout, { force: targets.force });
    delivered.ociLayout = path.resolve(targets.ociLayout);
  }
  if (targets.dockerArchive) {
    await writeDockerArchive(storeDir, tag, targets.dockerArchive, {
      force: targets.force,
      signal: options.signal,
    });
    delivered.dockerArchive = path.resolve(targets.dockerArchive);
  }
  if (targets.push) {
    const digest = await pushImage(storeDir, tag, targets.push, options);
    delivered.pushed = `${targets.push.replace(/@sha256:[a-f0-9]{64}$/, '')}@${digest}`;
  }
  return delivered;
}
