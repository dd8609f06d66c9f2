import { describe, expect, it } from '@jest/globals';
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { AnalysisTemplate, Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { DEFAULT_PARALLEL } from '@alki/bundler';
import { requireCommand } from '@alki/testkit';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { largeFleet } from '@alki/testkit';
import {
  BUNDLE_A,
  BUNDLE_B,
  fakeDigest,
  PROFILES,
  RUNTIME_IMAGE,
  THREE_SITES,
} from '../__fixtures__/fleets.js';
import { FleetError } from '../errors.js';
import { resolveInventory, type Inventory } from '../inventory/inventory.js';
import { parseFleet } from '../inventory/parse-fleet.js';
import { planFleet } from './plan-fleet.js';
import type { GroupProfile, FleetPlanOptions, Strategy } from './types.js';
import { writePlan } from './write-plan.js';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'argoproj.io/v1alpha1/Rollout': Rollout,
  'argoproj.io/v1alpha1/AnalysisTemplate': AnalysisTemplate,
  'argoproj.io/v1alpha1/ApplicationSet': ApplicationSet,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

/** Validates a Kubernetes object against its schema package; an unknown kind fails the test. */
function validateObject(object: { apiVersion: string; kind: string }): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
}

function inventoryOf(text: string): Inventory {
  return resolveInventory(parseFleet(text, 'fleet.yaml'));
}

function profilesOf(inventory: Inventory): Map<string, GroupProfile> {
  return new Map(
    inventory.groups.map((g) => [
      g.name,
      PROFILES['deviceClass' in g.hardware ? g.hardware.deviceClass : 'rpi5'],
    ]),
  );
}

function plan(strategy: Strategy, extra: Partial<FleetPlanOptions> = {}, text = THREE_SITES) {
  const inventory = inventoryOf(text);
  return planFleet(inventory, profilesOf(inventory), {
    strategy,
    bundle: BUNDLE_A,
    ...(strategy === 'ab' ? { bundleB: BUNDLE_B } : {}),
    ...extra,
  });
}

function fileText(files: Array<{ path: string; text: string }>, file: string): string {
  const found = files.find((f) => f.path === file);
  if (!found) throw new Error(`${file} is not in the plan`);
  return found.text;
}

function yamlObjects(text: string): Array<Record<string, unknown> & { apiVersion: string; kind: string }> {
  return parseAllDocuments(text).map(
    (doc) => doc.toJS() as Record<string, unknown> & { apiVersion: string; kind: string },
  );
}

const kubectl = requireCommand('kubectl', 'the kustomize build of every overlay');

async function writeTree(
  strategy: Strategy,
): Promise<{ dir: string; files: Array<{ path: string; text: string }> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `alki-fleet-${strategy}-`));
  const { files } = plan(strategy);
  await writePlan(files, path.join(dir, 'gitops'));
  return { dir: path.join(dir, 'gitops'), files };
}

describe.each(['rolling', 'canary', 'ab'] as const)('a %s plan of the three-site fleet', (strategy) => {
  it('builds every overlay with kubectl kustomize, into objects that validate against their schemas', async () => {
    const { dir, files } = await writeTree(strategy);
    const overlays = files.filter(
      (f) => f.path.endsWith('kustomization.yaml') && !f.path.startsWith('base/'),
    );
    expect(overlays.length).toBeGreaterThanOrEqual(3);
    for (const overlay of overlays) {
      const built = execFileSync(kubectl, ['kustomize', path.join(dir, path.dirname(overlay.path))], {
        encoding: 'utf8',
      });
      const objects = yamlObjects(built);
      expect(objects.map((o) => o.kind).sort()).toEqual(
        strategy === 'canary'
          ? ['AnalysisTemplate', 'PodMonitor', 'Rollout', 'Service']
          : ['Deployment', 'PodMonitor', 'Service'],
      );
      for (const object of objects) validateObject(object);
      const workload = objects.find((o) => o.kind === 'Rollout' || o.kind === 'Deployment') as unknown as {
        metadata: { namespace: string };
        spec: {
          template: {
            metadata: { annotations: Record<string, string> };
            spec: { containers: Array<{ image: string; env: Array<{ name: string; value: string }> }> };
          };
        };
      };
      const [container] = workload.spec.template.spec.containers;
      // Pinned: the runtime image and the bundle both by digest, and the annotation says which.
      expect(container.image).toMatch(/@sha256:[0-9a-f]{64}$/);
      const uri = container.env.find((e) => e.name === 'ALKI_BUNDLE_URI')?.value ?? '';
      expect([BUNDLE_A, BUNDLE_B]).toContain(uri);
      expect(uri.endsWith(workload.spec.template.metadata.annotations['alki.dev/bundle-digest'])).toBe(true);
      expect(workload.metadata.namespace).toMatch(/^alki-/);
    }
  });

  it('writes an ApplicationSet and a base that validate against their schemas', () => {
    const { files } = plan(strategy);
    for (const file of files.filter(
      (f) => f.path.startsWith('base/') && !f.path.endsWith('kustomization.yaml'),
    )) {
      for (const object of yamlObjects(file.text)) validateObject(object);
    }
    const [applicationSet] = yamlObjects(fileText(files, 'argocd/applicationset.yaml'));
    validateObject(applicationSet);
  });

  it('writes a Prometheus configuration and rules that promtool accepts', async () => {
    const promtool = requireCommand('promtool', 'the check of the Prometheus files the plan writes');
    const { dir } = await writeTree(strategy);
    execFileSync(promtool, ['check', 'config', path.join(dir, 'prometheus/prometheus.yml')], {
      encoding: 'utf8',
    });
    const rules = execFileSync(promtool, ['check', 'rules', path.join(dir, 'prometheus/alki-rules.yml')], {
      encoding: 'utf8',
    });
    expect(rules).toContain('SUCCESS: 4 rules found');
  });

  it('writes systemd units that systemd-analyze verify accepts, and node label scripts that parse', async () => {
    const analyze = requireCommand('systemd-analyze', 'the check of the systemd units the plan writes');
    const { dir, files } = await writeTree(strategy);
    const units = files.filter((f) => f.path.endsWith('.service'));
    expect(units.length).toBeGreaterThan(0);
    for (const unit of units) {
      // systemd-analyze checks a unit under its own name, and the binaries its Exec lines name.
      const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-unit-')), path.basename(unit.path));
      fs.copyFileSync(path.join(dir, unit.path), copy);
      execFileSync(analyze, ['verify', copy], { encoding: 'utf8' });
    }
    for (const script of files.filter((f) => f.path.endsWith('.sh'))) {
      execFileSync('sh', ['-n', path.join(dir, script.path)]);
      expect(fs.statSync(path.join(dir, script.path)).mode & 0o111).toBeTruthy();
    }
  });
});

describe('the schema check', () => {
  it('refuses a manifest with a field of the wrong type, so the checks above can fail', () => {
    const [rollout] = yamlObjects(fileText(plan('canary').files, 'base/workload.yaml'));
    expect(() =>
      validateObject({ ...rollout, spec: { ...(rollout.spec as object), replicas: 'three' } } as never),
    ).toThrow();
    expect(() =>
      validateObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 7 } } as never),
    ).toThrow();
  });
});

describe('planFleet', () => {
  it('turns the canary steps into Rollout steps with the analysis in the background from the first', () => {
    const { files } = plan('canary');
    const [rollout] = yamlObjects(fileText(files, 'base/workload.yaml')) as unknown as Array<{
      spec: { strategy: { canary: { steps: unknown[]; analysis: { startingStep: number } } } };
    }>;
    expect(rollout.spec.strategy.canary.steps).toEqual([
      { setWeight: 20 },
      { pause: { duration: '10m' } },
      { setWeight: 50 },
      { pause: { duration: '10m' } },
    ]);
    expect(rollout.spec.strategy.canary.analysis.startingStep).toBe(1);
    const patch = yamlObjects(fileText(files, 'groups/oslo-pi5/workload.patch.yaml'))[0] as unknown as Array<{
      path: string;
      value: unknown;
    }>;
    expect(patch.find((op) => op.path === '/spec/strategy/canary/analysis/args')?.value).toEqual([
      { name: 'group', value: 'oslo-pi5' },
      { name: 'canary-digest', value: fakeDigest('bundle-a') },
    ]);
  });

  it('runs only the canary checks the fleet file names', () => {
    const text = THREE_SITES.replace(
      'prometheus:\n',
      'analysis: { checks: [tokens-per-second-ratio], window: 10m }\nprometheus:\n',
    );
    const [template] = yamlObjects(
      fileText(plan('canary', {}, text).files, 'base/analysis-template.yaml'),
    ) as unknown as Array<{
      spec: { metrics: Array<{ name: string; provider: { prometheus: { query: string } } }> };
    }>;
    expect(template.spec.metrics.map((m) => m.name)).toEqual(['tokens-per-second-ratio']);
    expect(template.spec.metrics[0].provider.prometheus.query).toContain('[10m]');
  });

  it('syncs the ApplicationSet ring by ring, one Application per single-node cluster', () => {
    const { files } = plan('rolling');
    const [set] = yamlObjects(fileText(files, 'argocd/applicationset.yaml')) as unknown as Array<{
      spec: {
        generators: Array<{ list: { elements: Array<Record<string, string>> } }>;
        strategy: { rollingSync: { steps: Array<{ matchExpressions: Array<{ values: string[] }> }> } };
        template: { spec: { source: { repoURL: string } } };
      };
    }>;
    expect(set.spec.strategy.rollingSync.steps.map((s) => s.matchExpressions[0].values)).toEqual([
      ['canary'],
      ['oslo'],
      ['everyone'],
    ]);
    const elements = set.spec.generators[0].list.elements;
    // 12 Oslo and 8 Bergen devices with a k3s each, and the shared Trondheim cluster once.
    expect(elements).toHaveLength(21);
    expect(elements.find((e) => e.cluster === 'oslo-pi5-01')).toEqual({
      name: 'alki-oslo-pi5-01',
      cluster: 'oslo-pi5-01',
      path: 'gitops/groups/oslo-pi5',
      namespace: 'alki-oslo-pi5',
      group: 'oslo-pi5',
      ring: 'canary',
    });
    expect(elements.find((e) => e.cluster === 'trondheim-store')?.ring).toBe('everyone');
    expect(set.spec.template.spec.source.repoURL).toBe('https://git.acme.internal/edge/fleet.git');
  });

  it('pins each A/B cohort to its own digest and labels it with its variant', () => {
    const inventory = inventoryOf(THREE_SITES);
    const { placements, files } = plan('ab');
    const [experiment] = inventory.experiments;
    for (const device of experiment.cohorts.b) {
      expect(placements.find((p) => p.device === device)).toMatchObject({ variant: 'b', bundle: BUNDLE_B });
    }
    for (const device of experiment.cohorts.a) {
      expect(placements.find((p) => p.device === device)).toMatchObject({ variant: 'a', bundle: BUNDLE_A });
    }
    expect(placements.filter((p) => p.variant === undefined).every((p) => p.bundle === BUNDLE_A)).toBe(true);
    const patch = fileText(files, 'experiments/q8-vs-q4/b/bergen-n100/workload.patch.yaml');
    expect(patch).toContain(`value: ${BUNDLE_B}`);
    expect(patch).toContain('path: /spec/template/metadata/labels/alki.dev~1variant\n  value: b');
    const labels = fileText(files, 'clusters/trondheim-store/label-nodes.sh');
    for (const device of ['trondheim-n100-01', 'trondheim-n100-02', 'trondheim-n100-03']) {
      const variant = experiment.cohorts.b.includes(device) ? 'b' : 'a';
      expect(labels).toContain(
        `node --overwrite ${device} alki.dev/group=trondheim-n100 alki.dev/variant=${variant}`,
      );
    }
  });

  it('sets threads, memory and architecture from the group profile, and its recommendation when it has one', () => {
    const inventory = inventoryOf(THREE_SITES);
    const profiles = profilesOf(inventory);
    profiles.set('trondheim-n100', {
      ...PROFILES['intel-n100'],
      recommended: { quant: 'Q4_K_M', ctx: 8192, threads: 3, batch: 256, memoryBytes: 2 * 1024 ** 3 },
    });
    const { files } = planFleet(inventory, profiles, { strategy: 'rolling', bundle: BUNDLE_A });
    const ops = (file: string) =>
      (yamlObjects(fileText(files, file))[0] as unknown as Array<{ path: string; value: unknown }>).reduce<
        Record<string, unknown>
      >((all, op) => ({ ...all, [op.path]: op.value }), {});
    const pi = ops('groups/oslo-pi5/workload.patch.yaml');
    expect(pi['/spec/template/spec/containers/0/args']).toEqual([
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--metrics',
      '--threads',
      '4',
      // The model name says which bundle runs, for `alki fleet status`.
      '--alias',
      `qwen3@${fakeDigest('bundle-a')}`,
    ]);
    // 85% of 8 GiB for the server; the rest for the OS and k3s.
    expect(pi['/spec/template/spec/containers/0/resources']).toEqual({
      requests: { cpu: '4', memory: '6963Mi' },
      limits: { memory: '6963Mi' },
    });
    expect(pi['/spec/template/spec/nodeSelector']).toEqual({ 'kubernetes.io/arch': 'arm64' });
    const bergen = ops('groups/bergen-n100/workload.patch.yaml');
    // Each of the two slots gets the whole 4096-token context.
    expect(bergen['/spec/template/spec/containers/0/args']).toEqual(
      expect.arrayContaining(['--ctx-size', '8192', '--parallel', '2']),
    );
    const trondheim = ops('groups/trondheim-n100/workload.patch.yaml');
    expect(trondheim['/spec/template/spec/containers/0/args']).toEqual([
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--metrics',
      '--threads',
      '3',
      '--ctx-size',
      String(8192 * DEFAULT_PARALLEL),
      '--parallel',
      String(DEFAULT_PARALLEL),
      '--batch-size',
      '256',
      '--alias',
      `qwen3@${fakeDigest('bundle-a')}`,
    ]);
    expect(trondheim['/spec/template/spec/containers/0/env']).toEqual([
      { name: 'ALKI_BUNDLE_URI', value: BUNDLE_A },
      { name: 'ALKI_QUANT', value: 'Q4_K_M' },
    ]);
    // The measured 2 GiB with a quarter of headroom; three nodes, one pod each.
    expect(trondheim['/spec/template/spec/containers/0/resources']).toMatchObject({
      requests: { memory: '2560Mi' },
    });
    expect(trondheim['/spec/replicas']).toBe(3);
    expect(trondheim['/spec/template/spec/nodeSelector']).toEqual({
      'kubernetes.io/arch': 'amd64',
      'alki.dev/group': 'trondheim-n100',
    });
  });

  it('refuses a bundle without a digest, and A/B options that do not fit the strategy', () => {
    const unpinned = 'registry.acme.internal/models/qwen3:v2';
    expect(() => plan('rolling', { bundle: unpinned })).toThrow(
      expect.objectContaining({ code: 'UNPINNED_REFERENCE', category: 'input' }),
    );
    expect(() => plan('ab', { bundleB: undefined })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        hint: 'Pass --bundle-b REF@sha256:<digest>.',
      }),
    );
    expect(() => plan('rolling', { bundleB: BUNDLE_B })).toThrow(FleetError);
    expect(() => plan('ab', { bundleB: BUNDLE_A })).toThrow(
      'Cohorts A and B would run the same bundle digest.',
    );
    expect(() => plan('ab', { experiment: 'nope' })).toThrow('fleet.yaml has no experiment "nope".');
  });
});

describe('a 500-device fleet', () => {
  it('plans in under 2 s, and a second plan writes byte-identical files', async () => {
    const text = largeFleet(500, RUNTIME_IMAGE);
    const run = () => {
      const started = performance.now();
      const inventory = inventoryOf(text);
      const result = planFleet(inventory, profilesOf(inventory), { strategy: 'canary', bundle: BUNDLE_A });
      return { result, ms: performance.now() - started };
    };
    const first = run();
    const second = run();
    expect(first.result.placements).toHaveLength(500);
    expect(Math.min(first.ms, second.ms)).toBeLessThan(2000);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-fleet-500-'));
    await writePlan(first.result.files, path.join(root, 'one'));
    await writePlan(second.result.files, path.join(root, 'two'));
    const listing = (dir: string) =>
      (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
    expect(listing(path.join(root, 'two'))).toEqual(listing(path.join(root, 'one')));
    for (const file of listing(path.join(root, 'one'))) {
      expect(
        fs.readFileSync(path.join(root, 'two', file)).equals(fs.readFileSync(path.join(root, 'one', file))),
      ).toBe(true);
    }
  });
});
