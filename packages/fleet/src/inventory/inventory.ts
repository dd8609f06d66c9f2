import { createHash } from 'node:crypto';
import { parseReference } from '@alki/oci';
import { expandDeviceRange } from './device-names.js';
import type {
  AnalysisSpec,
  CanaryStepSpec,
  ExperimentSpec,
  Labels,
  LabelSelector,
  ServerOverrides,
} from './fleet-spec.js';
import type { ParsedFleet } from './parse-fleet.js';
import { fleetProblemsError, type FleetProblem } from './problems.js';
import { formatSelector, matchesSelector } from './selector.js';

/** Label keys every device has implicitly, for selectors: its group and its own name. */
export const IMPLICIT_LABELS = ['group', 'device'] as const;
/** The cluster name that makes one single-node k3s cluster per device. */
export const PER_DEVICE_CLUSTER = '{device}';
export const DEFAULT_RUNTIME_PORT = 8080;
export const DEFAULT_PROMETHEUS_URL = 'http://prometheus.monitoring.svc:9090';
export const DEFAULT_CANARY_STEPS: readonly CanaryStepSpec[] = [
  { weight: 20, pause: '10m' },
  { weight: 50, pause: '10m' },
];
export const DEFAULT_ANALYSIS = {
  interval: '1m',
  window: '5m',
  // Absolute: the canary may fail at most 2 more requests in 100 than the baseline.
  maxErrorRateIncrease: 0.02,
  // Relative to the baseline devices of the same group.
  maxTimeToFirstTokenRatio: 1.25,
  minTokensPerSecondRatio: 0.8,
  // Error rate and time to first token come from the Alki front (`alki serve`), tokens/s from llama-server.
  checks: ['error-rate-increase', 'time-to-first-token-p95-ratio', 'tokens-per-second-ratio'],
} satisfies Required<AnalysisSpec>;

/** How the plan reaches a group: Argo CD clusters (one per device, or a shared one), or systemd hosts. */
export type Reach = { kind: 'k3s'; cluster: string; perDevice: boolean } | { kind: 'systemd'; unit: string };

export interface InventoryDevice {
  name: string;
  group: string;
  /** The group's labels, then the device's own, plus `group` and `device`. */
  labels: Labels;
  /** The rollout ring, when the fleet has rings. */
  ring?: string;
  /** Where it answers HTTP: its own endpoint, or its group's template filled in. */
  endpoint?: string;
  /** 1-based line of the entry that lists the device. */
  line: number;
}

export interface InventoryGroup {
  name: string;
  labels: Labels;
  hardware: { profile: string } | { deviceClass: string };
  server: ServerOverrides;
  reach: Reach;
  /** URL template with `{device}`. */
  endpoint?: string;
  /** Device names, sorted. */
  devices: string[];
}

export interface InventoryExperiment {
  name: string;
  split: ExperimentSpec['split'];
  /** Device names of each cohort, sorted. */
  cohorts: { a: string[]; b: string[] };
}

/** A validated fleet: every device resolved, rings and cohorts computed. */
export interface Inventory {
  file: string;
  name: string;
  runtime: { image: string; port: number };
  /** Where Argo CD reads the plan; absent when no group is reached through k3s. */
  gitops?: { repo: string; revision: string; path: string; project: string };
  prometheusUrl: string;
  canarySteps: CanaryStepSpec[];
  analysis: Required<AnalysisSpec>;
  groups: InventoryGroup[];
  /** Every device, sorted by name. */
  devices: InventoryDevice[];
  /** In rollout order, each with its devices (sorted). Empty when the fleet has no rings. */
  rings: Array<{ name: string; devices: string[] }>;
  experiments: InventoryExperiment[];
}

const RESERVED_PREFIX = 'alki.dev/';

/**
 * The cohort of a device in a hash-split experiment: the first 32 bits of
 * SHA-256 over `experiment/device`, as a fraction of 2^32, below percentB
 * goes to B. Salting with the experiment keeps cohorts of different
 * experiments independent; the same names always give the same cohorts.
 *
 * @example
 * hashCohort('q8-vs-q4', 'oslo-n100-07', 50); // 'a' or 'b', the same on every run
 */
export function hashCohort(experiment: string, device: string, percentB: number): 'a' | 'b' {
  const digest = createHash('sha256').update(`${experiment}/${device}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100 < percentB ? 'b' : 'a';
}

function list(names: string[], max = 5): string {
  return names.length <= max
    ? names.join(', ')
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * Checks what the schema cannot (exactly one hardware source and one way to
 * reach each group, duplicate devices and names, selectors that match
 * nothing, rings that leave devices out, a runtime image without a digest)
 * and resolves groups, ranges, rings and cohorts. Pure: profiles and device
 * classes are resolved later, by name.
 *
 * @example
 * const inventory = resolveInventory(parseFleet(text, 'fleet.yaml'));
 * console.log(inventory.devices.length, inventory.rings.map((r) => r.name));
 */
export function resolveInventory(parsed: ParsedFleet): Inventory {
  const { spec, locate, file } = parsed;
  const problems: FleetProblem[] = [];
  const report = (
    path: Array<string | number>,
    message: string,
    fix: string,
    part: 'key' | 'value' = 'value',
  ) => problems.push({ ...locate(path, part), path: `/${path.join('/')}`, message, fix });

  checkRuntimeImage(spec.runtime.image, report);

  const groups: InventoryGroup[] = [];
  const devices = new Map<string, InventoryDevice>();
  const groupLines = new Map<string, number>();
  spec.groups.forEach((group, g) => {
    const at = (...rest: Array<string | number>) => ['groups', g, ...rest];
    const first = groupLines.get(group.name);
    if (first !== undefined) {
      report(
        at('name'),
        `group "${group.name}" is defined twice (first at line ${first})`,
        'Rename one of them.',
      );
    }
    groupLines.set(group.name, locate(at('name')).line);
    checkLabels(group.labels ?? {}, at('labels'), report);

    const hardwareKeys = Object.keys(group.hardware);
    if (hardwareKeys.length !== 1) {
      report(
        at('hardware'),
        `group "${group.name}" must name exactly one of hardware.profile and hardware.deviceClass`,
        hardwareKeys.length === 0
          ? 'Add `profile: path/to/profile.json` (from `alki calibrate --save-profile`) or `deviceClass: rpi5`.'
          : 'Keep one of the two.',
      );
    }
    const reachKeys = Object.keys(group.reach);
    if (reachKeys.length !== 1) {
      report(
        at('reach'),
        `group "${group.name}" must be reached in exactly one way, k3s or systemd`,
        reachKeys.length === 0
          ? 'Add `k3s: { cluster: "{device}" }` (one k3s per device), `k3s: { cluster: NAME }` or `systemd: {}`.'
          : 'Keep one of the two.',
      );
    }
    if (group.server?.parallel !== undefined && group.server.ctx === undefined) {
      report(
        at('server', 'parallel'),
        `server.parallel of group "${group.name}" needs server.ctx: llama-server gives each of its slots an equal share of the context`,
        'Add `ctx:` (the context of one request) beside `parallel:`.',
      );
    }
    const cluster = group.reach.k3s?.cluster;
    if (
      cluster !== undefined &&
      cluster !== PER_DEVICE_CLUSTER &&
      !/^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/.test(cluster)
    ) {
      report(
        at('reach', 'k3s', 'cluster'),
        `cluster "${cluster}" of group "${group.name}" is not a valid Argo CD cluster name`,
        `Write the cluster's name as registered in Argo CD, or "${PER_DEVICE_CLUSTER}" for one cluster per device.`,
      );
    }

    const names: string[] = [];
    group.devices.forEach((entry, d) => {
      const line = locate(at('devices', d)).line;
      let entryNames: string[];
      let entryLabels: Labels = {};
      let ownEndpoint: string | undefined;
      if (typeof entry === 'string') {
        entryNames = [entry];
      } else if ('name' in entry) {
        entryNames = [entry.name];
        entryLabels = entry.labels ?? {};
        ownEndpoint = entry.endpoint;
      } else {
        const expanded = expandDeviceRange(entry.range);
        if (!Array.isArray(expanded)) {
          report(at('devices', d, 'range'), expanded.why, expanded.fix);
          return;
        }
        entryNames = expanded;
        entryLabels = entry.labels ?? {};
      }
      checkLabels(entryLabels, at('devices', d, 'labels'), report);
      for (const name of entryNames) {
        const seen = devices.get(name);
        if (seen) {
          report(
            at('devices', d),
            `device "${name}" is listed twice (first at line ${seen.line}${seen.group !== group.name ? `, in group "${seen.group}"` : ''})`,
            'Remove one of the two entries, or rename the device.',
          );
          continue;
        }
        const endpoint = ownEndpoint ?? group.endpoint?.replaceAll('{device}', name);
        devices.set(name, {
          name,
          group: group.name,
          labels: { ...group.labels, ...entryLabels, group: group.name, device: name },
          line,
          ...(endpoint !== undefined ? { endpoint } : {}),
        });
        names.push(name);
      }
    });

    const templated = group.devices.filter((e) => typeof e === 'string' || !('endpoint' in e) || !e.endpoint);
    if (group.endpoint !== undefined && templated.length > 1 && !group.endpoint.includes('{device}')) {
      report(
        at('endpoint'),
        `the endpoint of group "${group.name}" has no {device}, so all ${names.length} devices would share one address`,
        'Write the endpoint as a template, such as http://{device}.site.example:8080.',
      );
    }

    groups.push({
      name: group.name,
      labels: group.labels ?? {},
      hardware:
        group.hardware.profile !== undefined
          ? { profile: group.hardware.profile }
          : { deviceClass: group.hardware.deviceClass ?? '' },
      server: group.server ?? {},
      reach: group.reach.k3s
        ? {
            kind: 'k3s',
            cluster: group.reach.k3s.cluster,
            perDevice: group.reach.k3s.cluster === PER_DEVICE_CLUSTER,
          }
        : { kind: 'systemd', unit: group.reach.systemd?.unit ?? 'alki-runtime.service' },
      ...(group.endpoint !== undefined ? { endpoint: group.endpoint } : {}),
      devices: names.sort(),
    });
  });

  if (!spec.gitops && groups.some((g) => g.reach.kind === 'k3s')) {
    report(
      [],
      'the fleet reaches groups through k3s but has no gitops.repo, so Argo CD would not know where to read the plan',
      'Add `gitops: { repo: https://git.example.com/fleet.git, path: gitops }` at the top level.',
    );
  }

  const allDevices = [...devices.values()].sort((a, b) => compareNames(a.name, b.name));
  const rings = resolveRings(spec.rings ?? [], allDevices, report);
  const experiments = resolveExperiments(spec.experiments ?? [], allDevices, report);
  checkCanarySteps(spec.canary?.steps ?? [], report);

  if (problems.length > 0) throw fleetProblemsError(file, problems);
  return {
    file,
    name: spec.name,
    runtime: { image: spec.runtime.image, port: spec.runtime.port ?? DEFAULT_RUNTIME_PORT },
    ...(spec.gitops
      ? {
          gitops: {
            repo: spec.gitops.repo,
            revision: spec.gitops.revision ?? 'HEAD',
            path: (spec.gitops.path ?? '.').replace(/\/+$/, ''),
            project: spec.gitops.project ?? 'default',
          },
        }
      : {}),
    prometheusUrl: spec.prometheus?.url ?? DEFAULT_PROMETHEUS_URL,
    canarySteps: spec.canary?.steps ?? [...DEFAULT_CANARY_STEPS],
    analysis: { ...DEFAULT_ANALYSIS, checks: [...DEFAULT_ANALYSIS.checks], ...spec.analysis },
    groups,
    devices: allDevices,
    rings,
    experiments,
  };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Report = (path: Array<string | number>, message: string, fix: string, part?: 'key' | 'value') => void;

function checkRuntimeImage(image: string, report: Report): void {
  try {
    const reference = parseReference(image);
    if (!reference.digest) {
      report(
        ['runtime', 'image'],
        `the runtime image ${image} is not pinned by digest, so devices could run different images under one tag`,
        `Pin it: ${image}@sha256:<digest> (\`alki image runtime --push\` prints it).`,
      );
    }
  } catch (error) {
    report(
      ['runtime', 'image'],
      (error as Error).message.replace(/\.$/, ''),
      'Write it as host/name@sha256:<64 hex>.',
    );
  }
}

function checkLabels(labels: Labels, path: Array<string | number>, report: Report): void {
  for (const key of Object.keys(labels)) {
    if ((IMPLICIT_LABELS as readonly string[]).includes(key) || key.startsWith(RESERVED_PREFIX)) {
      report(
        [...path, key],
        `the label "${key}" is reserved`,
        `Rename it: "group" and "device" are set by Alki, and "${RESERVED_PREFIX}" keys are Alki's own.`,
        'key',
      );
    }
  }
}

function resolveRings(
  specs: NonNullable<ParsedFleet['spec']['rings']>,
  devices: InventoryDevice[],
  report: Report,
): Inventory['rings'] {
  const taken = new Set<string>();
  const names = new Set<string>();
  const rings: Inventory['rings'] = [];
  specs.forEach((ring, r) => {
    if (names.has(ring.name))
      report(['rings', r, 'name'], `ring "${ring.name}" is defined twice`, 'Rename one of them.');
    names.add(ring.name);
    const selector = ring.selector ?? {};
    const matching = devices.filter((d) => matchesSelector(d.labels, selector));
    const fresh = matching.filter((d) => !taken.has(d.name));
    if (matching.length === 0) {
      report(
        ['rings', r, ring.selector ? 'selector' : 'name'],
        `ring "${ring.name}" selects ${formatSelector(selector)}, which matches no device`,
        `Check the labels: ${labelSummary(devices, Object.keys(selector))}.`,
      );
    } else if (fresh.length === 0) {
      report(
        ['rings', r, ring.selector ? 'selector' : 'name'],
        `ring "${ring.name}" selects only devices that earlier rings already take`,
        'Narrow the earlier rings, or remove this one.',
      );
    }
    for (const device of fresh) {
      taken.add(device.name);
      device.ring = ring.name;
    }
    rings.push({ name: ring.name, devices: fresh.map((d) => d.name) });
  });
  if (specs.length > 0) {
    const left = devices.filter((d) => !taken.has(d.name)).map((d) => d.name);
    if (left.length > 0) {
      report(
        ['rings'],
        `${left.length} devices are in no ring: ${list(left)}`,
        'End the rings with one that has no selector, which takes every device left.',
      );
    }
  }
  return rings;
}

// What the devices' labels look like, for a selector that matched nothing.
function labelSummary(devices: InventoryDevice[], keys: string[]): string {
  const parts = keys.map((key) => {
    const values = [...new Set(devices.map((d) => d.labels[key]).filter((v) => v !== undefined))].sort();
    return values.length ? `${key} is one of ${list(values, 8)}` : `no device has the label "${key}"`;
  });
  return parts.length ? parts.join('; ') : 'the fleet has no devices';
}

function resolveExperiments(
  specs: ExperimentSpec[],
  devices: InventoryDevice[],
  report: Report,
): InventoryExperiment[] {
  const inExperiment = new Map<string, string>();
  const names = new Set<string>();
  return specs.map((experiment, e) => {
    const at = (...rest: Array<string | number>) => ['experiments', e, ...rest];
    if (names.has(experiment.name))
      report(at('name'), `experiment "${experiment.name}" is defined twice`, 'Rename one of them.');
    names.add(experiment.name);
    const selector: LabelSelector = experiment.selector ?? {};
    const members = devices.filter((d) => matchesSelector(d.labels, selector));
    if (members.length === 0) {
      report(
        at('selector'),
        `experiment "${experiment.name}" selects ${formatSelector(selector)}, which matches no device`,
        `Check the labels: ${labelSummary(devices, Object.keys(selector))}.`,
      );
    }
    for (const device of members) {
      const other = inExperiment.get(device.name);
      if (other !== undefined && other !== experiment.name) {
        report(
          at(experiment.selector ? 'selector' : 'name'),
          `device "${device.name}" is in experiments "${other}" and "${experiment.name}"; a device runs one bundle`,
          'Make the experiments select disjoint devices.',
        );
        break;
      }
      inExperiment.set(device.name, experiment.name);
    }
    const { split } = experiment;
    const cohorts = { a: [] as string[], b: [] as string[] };
    if (split.by === 'hash') {
      if (split.percentB === undefined || split.selectorB !== undefined) {
        report(
          at('split'),
          `a hash split needs percentB and no selectorB`,
          'Write `split: { by: hash, percentB: 50 }`.',
        );
      } else {
        for (const device of members)
          cohorts[hashCohort(experiment.name, device.name, split.percentB)].push(device.name);
      }
    } else if (split.selectorB === undefined || split.percentB !== undefined) {
      report(
        at('split'),
        'a label split needs selectorB and no percentB',
        'Write `split: { by: label, selectorB: { cohort: b } }`.',
      );
    } else {
      for (const device of members)
        cohorts[matchesSelector(device.labels, split.selectorB) ? 'b' : 'a'].push(device.name);
    }
    if (
      members.length > 0 &&
      (split.by === 'hash' ? split.percentB !== undefined : split.selectorB !== undefined)
    ) {
      for (const cohort of ['a', 'b'] as const) {
        if (cohorts[cohort].length === 0) {
          report(
            at('split', split.by === 'hash' ? 'percentB' : 'selectorB'),
            `cohort ${cohort.toUpperCase()} of experiment "${experiment.name}" has no device (of ${members.length})`,
            split.by === 'hash'
              ? 'Select more devices, or move percentB towards 50.'
              : "Change selectorB so that it matches some of the experiment's devices but not all.",
          );
        }
      }
    }
    return { name: experiment.name, split, cohorts };
  });
}

function checkCanarySteps(steps: CanaryStepSpec[], report: Report): void {
  steps.forEach((step, s) => {
    if (s > 0 && step.weight <= steps[s - 1].weight) {
      report(
        ['canary', 'steps', s, 'weight'],
        `canary step ${s + 1} has weight ${step.weight}, not more than the step before (${steps[s - 1].weight})`,
        'Make the weights grow step by step; the rollout ends at 100 by itself.',
      );
    }
  });
}
