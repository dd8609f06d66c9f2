import { parseReference } from '@alki/oci';
import type { InventoryGroup } from '../inventory/inventory.js';
import type { ServerSettings } from './server-settings.js';

/** Node label values of devices outside the experiment, in a group that has some inside. */
export const NO_VARIANT = 'none';

/**
 * One deployable unit of the plan: a group's devices that run the same
 * bundle with the same labels. A group is one overlay, or, in an A/B test,
 * up to three (outside the experiment, cohort A, cohort B).
 */
export interface Overlay {
  /** Its folder in the tree: `groups/oslo`, `groups/oslo/variant-b`, `hosts/bergen`. */
  path: string;
  group: InventoryGroup;
  /** The cohort, in an A/B test. */
  variant?: 'a' | 'b';
  experiment?: string;
  /** Whether the group has devices in the experiment (then the others are labelled `none`). */
  groupInExperiment: boolean;
  /** Device names, sorted. */
  devices: string[];
  /** The bundle reference, pinned. */
  bundle: string;
  digest: string;
  /** Kubernetes namespace: `alki-<group>`, `-a` or `-b` for the cohorts. */
  namespace: string;
  settings: ServerSettings;
}

/** The node labels an overlay's devices carry in a shared cluster, and its pods select. */
export function overlayNodeLabels(overlay: Overlay): Record<string, string> {
  return {
    'alki.dev/group': overlay.group.name,
    ...(overlay.groupInExperiment ? { 'alki.dev/variant': overlay.variant ?? NO_VARIANT } : {}),
  };
}

/**
 * The model name the overlay's servers announce (`/v1/models`): the bundle
 * repository's last path segment and the digest, `qwen3@sha256:...`. It is
 * set in the same pod spec as ALKI_BUNDLE_URI, so a device that answers
 * says which bundle it runs; `alki fleet status` reads it back.
 */
export function modelAlias(bundle: string): string {
  const reference = parseReference(bundle);
  return `${reference.repository.split('/').pop() ?? reference.repository}@${reference.digest ?? ''}`;
}

/** The llama-server arguments of an overlay: its group's settings and the alias naming its bundle. */
export function overlayArgs(overlay: Overlay): string[] {
  return [...overlay.settings.args, '--alias', modelAlias(overlay.bundle)];
}
