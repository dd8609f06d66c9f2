import path from 'node:path';
import type { Inventory } from '../inventory/inventory.js';
import type { Overlay } from './overlay.js';

/** Where Argo CD runs; ApplicationSets live in its namespace. */
export const ARGOCD_NAMESPACE = 'argocd';
const RING_LABEL = 'alki.dev/ring';

/** One Application the ApplicationSet generates: an overlay on one cluster. */
interface Element {
  name: string;
  cluster: string;
  path: string;
  namespace: string;
  group: string;
  ring?: string;
}

// Argo CD Application names are Kubernetes object names (DNS subdomains, 253 characters).
function applicationName(parts: string[]): string {
  return `alki-${parts.join('-')}`.slice(0, 253);
}

function ringField(ring: string | undefined): { ring?: string } {
  return ring === undefined ? {} : { ring };
}

/**
 * The Argo CD ApplicationSet of the fleet's k3s overlays: a list generator
 * with one element per Application (one per device for single-node
 * clusters, one per overlay for a shared cluster), and, when the fleet has
 * rings, a RollingSync strategy that syncs ring after ring: Argo CD moves to
 * the next step only when every Application of the step is healthy, so a
 * canary Rollout that aborts (Degraded) stops the rollout of the fleet.
 *
 * The list generator keeps the whole assignment (which device, which
 * overlay, which ring) in Git; a cluster generator would read it from
 * labels on Argo CD's cluster secrets, outside the reviewed tree.
 */
export function applicationSet(
  inventory: Inventory,
  overlays: Overlay[],
  treePath: string,
): Record<string, unknown> {
  const gitops = inventory.gitops;
  if (!gitops) throw new Error('applicationSet needs the fleet gitops settings');
  const ringIndex = new Map(inventory.rings.map((ring, i) => [ring.name, i]));
  const ringOf = new Map(inventory.devices.map((d) => [d.name, d.ring]));
  const elements: Element[] = [];
  for (const overlay of overlays) {
    const { reach } = overlay.group;
    if (reach.kind !== 'k3s' || overlay.devices.length === 0) continue;
    const repoPath = path.posix.join(treePath, overlay.path);
    const suffix = overlay.variant ? [overlay.variant] : [];
    if (reach.perDevice) {
      for (const device of overlay.devices) {
        elements.push({
          name: applicationName([device]),
          cluster: device,
          path: repoPath,
          namespace: overlay.namespace,
          group: overlay.group.name,
          ...ringField(ringOf.get(device)),
        });
      }
    } else {
      // A shared cluster updates as a whole: it joins the earliest ring any of its devices is in.
      const rings = overlay.devices
        .map((d) => ringOf.get(d))
        .filter((r): r is string => r !== undefined)
        .sort((a, b) => (ringIndex.get(a) ?? 0) - (ringIndex.get(b) ?? 0));
      elements.push({
        name: applicationName([reach.cluster, overlay.group.name, ...suffix]),
        cluster: reach.cluster,
        path: repoPath,
        namespace: overlay.namespace,
        group: overlay.group.name,
        ...ringField(rings[0]),
      });
    }
  }
  elements.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const usedRings = inventory.rings.filter((ring) => elements.some((e) => e.ring === ring.name));
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: {
      name: `alki-${inventory.name}`,
      namespace: ARGOCD_NAMESPACE,
      labels: { 'app.kubernetes.io/managed-by': 'alki', 'app.kubernetes.io/part-of': inventory.name },
    },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      generators: [{ list: { elements } }],
      ...(usedRings.length > 0
        ? {
            strategy: {
              type: 'RollingSync',
              rollingSync: {
                steps: usedRings.map((ring) => ({
                  matchExpressions: [{ key: RING_LABEL, operator: 'In', values: [ring.name] }],
                })),
              },
            },
          }
        : {}),
      template: {
        metadata: {
          name: '{{.name}}',
          labels: {
            'app.kubernetes.io/managed-by': 'alki',
            'alki.dev/fleet': inventory.name,
            'alki.dev/group': '{{.group}}',
            ...(usedRings.length > 0 ? { [RING_LABEL]: '{{.ring}}' } : {}),
          },
        },
        spec: {
          project: gitops.project,
          source: { repoURL: gitops.repo, targetRevision: gitops.revision, path: '{{.path}}' },
          destination: { name: '{{.cluster}}', namespace: '{{.namespace}}' },
          // RollingSync turns automated sync off on the Applications it manages; without rings, sync on every commit.
          syncPolicy: {
            ...(usedRings.length > 0 ? {} : { automated: { prune: true, selfHeal: true } }),
            syncOptions: ['CreateNamespace=true'],
          },
        },
      },
    },
  };
}
