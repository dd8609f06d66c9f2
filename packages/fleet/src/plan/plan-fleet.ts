import { parseReference } from '@alki/oci';
import { FleetError } from '../errors.js';
import type { Inventory, InventoryExperiment, InventoryGroup } from '../inventory/inventory.js';
import { applicationSet } from './argocd.js';
import { renderBase, renderK3sOverlay } from './kustomize.js';
import { renderNodeLabels } from './nodes.js';
import type { Overlay } from './overlay.js';
import { fileTargets, prometheusConfig, prometheusRules, RULES_FILE } from './prometheus.js';
import { serverSettings } from './server-settings.js';
import { renderSystemdOverlay } from './systemd.js';
import type { DevicePlacement, FleetPlan, GroupProfile, FleetPlanOptions, PlannedFile } from './types.js';
import { yamlDocuments } from './yaml-text.js';

/** The digest of a bundle reference, or an error that says how to pin it. */
export function requireDigest(reference: string, what: string): string {
  let digest: string | undefined;
  try {
    digest = parseReference(reference).digest;
  } catch (cause) {
    throw new FleetError(
      'UNPINNED_REFERENCE',
      `${what} ${reference} is not a valid reference: ${(cause as Error).message}`,
      {
        cause,
        hint: 'Write it as registry/repository@sha256:<64 hex digits>, as `alki publish` prints it.',
        details: { reference },
      },
    );
  }
  if (!digest) {
    throw new FleetError(
      'UNPINNED_REFERENCE',
      `${what} ${reference} has no digest; a tag can move, so devices could run different bundles under one name.`,
      {
        hint: `Pin it: ${reference}@sha256:<digest> (\`alki publish\` prints the digest; \`alki tags\` lists them).`,
        details: { reference },
      },
    );
  }
  return digest;
}

function chooseExperiment(inventory: Inventory, name: string | undefined): InventoryExperiment {
  if (name !== undefined) {
    const found = inventory.experiments.find((e) => e.name === name);
    if (!found) {
      throw new FleetError('INVALID_OPTIONS', `${inventory.file} has no experiment "${name}".`, {
        hint: inventory.experiments.length
          ? `Choose one of: ${inventory.experiments.map((e) => e.name).join(', ')}.`
          : 'Add one under `experiments:` (docs/fleet.md shows how).',
      });
    }
    return found;
  }
  if (inventory.experiments.length !== 1) {
    throw new FleetError(
      'INVALID_OPTIONS',
      inventory.experiments.length === 0
        ? `An A/B plan needs an experiment, and ${inventory.file} defines none.`
        : `${inventory.file} defines ${inventory.experiments.length} experiments; say which one.`,
      {
        hint: inventory.experiments.length
          ? `Pass --experiment with one of: ${inventory.experiments.map((e) => e.name).join(', ')}.`
          : 'Add one under `experiments:` with a split by hash or label (docs/fleet.md shows how).',
      },
    );
  }
  return inventory.experiments[0];
}

function overlaysOf(
  inventory: Inventory,
  group: InventoryGroup,
  profile: GroupProfile,
  options: FleetPlanOptions,
  experiment: InventoryExperiment | undefined,
): Overlay[] {
  const settings = serverSettings(profile, group.server, inventory.runtime.port);
  const root = group.reach.kind === 'k3s' ? `groups/${group.name}` : `hosts/${group.name}`;
  const base = {
    group,
    settings,
    experiment: undefined,
  };
  const bundleA = { bundle: options.bundle, digest: requireDigest(options.bundle, 'The bundle') };
  if (!experiment || !options.bundleB) {
    return [
      {
        ...base,
        path: root,
        groupInExperiment: false,
        devices: group.devices,
        ...bundleA,
        namespace: `alki-${group.name}`,
      },
    ];
  }
  const a = new Set(experiment.cohorts.a);
  const b = new Set(experiment.cohorts.b);
  const inA = group.devices.filter((d) => a.has(d));
  const inB = group.devices.filter((d) => b.has(d));
  const outside = group.devices.filter((d) => !a.has(d) && !b.has(d));
  const groupInExperiment = inA.length + inB.length > 0;
  const overlays: Overlay[] = [
    { ...base, path: root, groupInExperiment, devices: outside, ...bundleA, namespace: `alki-${group.name}` },
  ];
  const bundleB = {
    bundle: options.bundleB,
    digest: requireDigest(options.bundleB, 'The bundle of cohort B'),
  };
  for (const [variant, devices, bundle] of [
    ['a', inA, bundleA],
    ['b', inB, bundleB],
  ] as const) {
    if (devices.length === 0) continue;
    overlays.push({
      ...base,
      // kustomize refuses an overlay inside the folder of its own base, so k3s cohorts live apart.
      path:
        group.reach.kind === 'k3s'
          ? `experiments/${experiment.name}/${variant}/${group.name}`
          : `${root}/variant-${variant}`,
      variant,
      experiment: experiment.name,
      groupInExperiment,
      devices,
      ...bundle,
      namespace: `alki-${group.name}-${variant}`,
    });
  }
  return overlays;
}

function checkOptions(options: FleetPlanOptions): void {
  requireDigest(options.bundle, 'The bundle');
  if (options.strategy === 'ab') {
    if (!options.bundleB) {
      throw new FleetError('INVALID_OPTIONS', 'An A/B plan needs the bundle of cohort B.', {
        hint: 'Pass --bundle-b REF@sha256:<digest>.',
      });
    }
    const a = requireDigest(options.bundle, 'The bundle');
    const b = requireDigest(options.bundleB, 'The bundle of cohort B');
    if (a === b) {
      throw new FleetError('INVALID_OPTIONS', 'Cohorts A and B would run the same bundle digest.', {
        hint: 'Pass a different --bundle-b, or plan a rolling update instead.',
      });
    }
  } else if (options.bundleB !== undefined || options.experiment !== undefined) {
    throw new FleetError(
      'INVALID_OPTIONS',
      `--bundle-b and --experiment belong to A/B plans, not ${options.strategy} ones.`,
      {
        hint: 'Add --strategy ab, or drop them.',
      },
    );
  }
}

function readme(
  inventory: Inventory,
  options: FleetPlanOptions,
  overlays: Overlay[],
  experiment?: InventoryExperiment,
): string {
  const k3s = overlays.filter((o) => o.group.reach.kind === 'k3s');
  const hosts = overlays.filter((o) => o.group.reach.kind === 'systemd');
  const lines = [
    `# Fleet ${inventory.name}: ${options.strategy} plan`,
    '',
    'Generated by `alki fleet plan` from the fleet file; a new plan rewrites this tree. Every image and bundle',
    'is pinned by digest.',
    '',
    `- bundle: \`${options.bundle}\``,
    ...(options.bundleB
      ? [`- cohort B bundle: \`${options.bundleB}\` (experiment \`${experiment?.name}\`)`]
      : []),
    `- runtime image: \`${inventory.runtime.image}\``,
    `- devices: ${inventory.devices.length} in ${inventory.groups.length} groups`,
    ...(inventory.rings.length
      ? [`- rings, in order: ${inventory.rings.map((r) => `${r.name} (${r.devices.length})`).join(', ')}`]
      : []),
    '',
    '| folder | what |',
    '| --- | --- |',
    ...(k3s.length
      ? [
          '| `base/` | the runtime workload, Service' +
            (options.strategy === 'canary' ? ', canary AnalysisTemplate' : '') +
            ' (kustomize base) |',
        ]
      : []),
    ...k3s.map(
      (o) =>
        `| \`${o.path}/\` | ${o.devices.length} devices${o.variant ? `, cohort ${o.variant.toUpperCase()}` : ''}: namespace \`${o.namespace}\` |`,
    ),
    ...hosts.map(
      (o) =>
        `| \`${o.path}/\` | ${o.devices.length} systemd hosts${o.variant ? `, cohort ${o.variant.toUpperCase()}` : ''}: unit, environment file, hosts.txt |`,
    ),
    ...(k3s.length
      ? [
          '| `argocd/applicationset.yaml` | the Argo CD ApplicationSet that deploys the overlays' +
            (inventory.rings.length ? ', ring by ring' : '') +
            ' |',
        ]
      : []),
    ...(k3s.some((o) => o.group.reach.kind === 'k3s' && !o.group.reach.perDevice)
      ? ['| `clusters/<name>/label-nodes.sh` | node labels that shared clusters select on |']
      : []),
    '| `prometheus/` | scrape configuration, recording rules and file discovery targets |',
    '| `plan.json` | where every device lands: group, ring, cohort, folder, bundle |',
    '',
    'Check an overlay with `kubectl kustomize <folder>`; docs/fleet.md in Alki explains each part.',
    '',
  ];
  return lines.join('\n');
}

/**
 * Renders the GitOps tree of a fleet: kustomize base and overlays per group
 * (Deployments, or Argo Rollouts canaries with an AnalysisTemplate), an
 * Argo CD ApplicationSet syncing ring by ring, systemd units for plain
 * hosts, Prometheus configuration, and plan.json. Pure: the same inventory,
 * profiles and options give the same bytes.
 *
 * @example
 * const plan = planFleet(inventory, profiles, { strategy: 'canary', bundle: 'registry.example/models/qwen3@sha256:...' });
 * for (const file of plan.files) console.log(file.path);
 */
export function planFleet(
  inventory: Inventory,
  profiles: ReadonlyMap<string, GroupProfile>,
  options: FleetPlanOptions,
): FleetPlan {
  checkOptions(options);
  const experiment = options.strategy === 'ab' ? chooseExperiment(inventory, options.experiment) : undefined;
  const overlays = inventory.groups.flatMap((group) => {
    const profile = profiles.get(group.name);
    if (!profile) throw new Error(`planFleet: no profile for group ${group.name}`);
    return overlaysOf(inventory, group, profile, options, experiment);
  });
  const files: PlannedFile[] = [];
  const k3s = overlays.filter((o) => o.group.reach.kind === 'k3s');
  if (k3s.length > 0) {
    files.push(...renderBase(inventory, options.strategy));
    for (const overlay of k3s) {
      const parent = overlay.variant ? k3s.find((o) => o.group === overlay.group && !o.variant) : undefined;
      files.push(...renderK3sOverlay(overlay, inventory, options.strategy, parent));
    }
    files.push({
      path: 'argocd/applicationset.yaml',
      text: yamlDocuments(
        'Generated by `alki fleet plan`. Apply it to the Argo CD that manages the clusters.',
        [applicationSet(inventory, overlays, inventory.gitops?.path ?? '.')],
      ),
    });
    files.push(...renderNodeLabels(inventory, overlays));
  }
  for (const overlay of overlays) {
    if (overlay.group.reach.kind === 'systemd' && overlay.devices.length > 0) {
      files.push(...renderSystemdOverlay(overlay, inventory));
    }
  }
  files.push(
    { path: 'prometheus/prometheus.yml', text: prometheusConfig(inventory, overlays) },
    { path: `prometheus/${RULES_FILE}`, text: prometheusRules(inventory) },
    ...fileTargets(inventory, overlays),
  );

  const ringOf = new Map(inventory.devices.map((d) => [d.name, d.ring]));
  const placements: DevicePlacement[] = overlays
    .flatMap((overlay) =>
      overlay.devices.map((device) => ({
        device,
        group: overlay.group.name,
        ...(ringOf.get(device) ? { ring: ringOf.get(device) } : {}),
        ...(overlay.variant ? { variant: overlay.variant } : {}),
        overlay: overlay.path,
        bundle: overlay.bundle,
      })),
    )
    .sort((a, b) => (a.device < b.device ? -1 : 1));
  files.push(
    { path: 'README.md', text: readme(inventory, options, overlays, experiment) },
    {
      path: 'plan.json',
      text: `${JSON.stringify(
        {
          fleet: inventory.name,
          strategy: options.strategy,
          bundle: options.bundle,
          ...(options.bundleB ? { bundleB: options.bundleB, experiment: experiment?.name } : {}),
          runtimeImage: inventory.runtime.image,
          devices: placements,
        },
        null,
        2,
      )}\n`,
    },
  );
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, placements };
}
