import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { largeFleet } from '@alki/testkit';
import { RUNTIME_IMAGE, THREE_SITES } from '../__fixtures__/fleets.js';
import { FleetError } from '../errors.js';
import { expandDeviceRange } from './device-names.js';
import { hashCohort, resolveInventory } from './inventory.js';
import { parseFleet } from './parse-fleet.js';
import type { FleetProblem } from './problems.js';
import { fleetSchemaV1 } from './schema.js';

function load(text: string) {
  return resolveInventory(parseFleet(text, 'fleet.yaml'));
}

/** The problems a fleet file has, from the error that loading it throws. */
function problemsOf(text: string): { error: FleetError; problems: FleetProblem[] } {
  try {
    load(text);
  } catch (error) {
    if (!(error instanceof FleetError)) throw error;
    return { error, problems: error.details.problems as FleetProblem[] };
  }
  throw new Error('the fleet file loaded without an error');
}

/** 1-based line of the first line of `text` containing `needle`, to compare with reported lines. */
function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  const index = lines.findIndex((line, i) => i >= from && line.includes(needle));
  if (index < 0) throw new Error(`"${needle}" is not in the fixture`);
  return index + 1;
}

describe('resolveInventory on the three-site fleet', () => {
  const inventory = load(THREE_SITES);

  it('expands groups, names and ranges into every device, sorted by name', () => {
    expect(inventory.devices).toHaveLength(12 + 8 + 3 + 2);
    expect(inventory.groups.find((g) => g.name === 'oslo-pi5')?.devices).toEqual([
      'oslo-pi5-01',
      ...Array.from({ length: 11 }, (_, i) => `oslo-pi5-${String(i + 2).padStart(2, '0')}`),
    ]);
    const names = inventory.devices.map((d) => d.name);
    expect(names).toEqual([...names].sort());
  });

  it('gives each device its group labels, its own labels, and group and device', () => {
    const canary = inventory.devices.find((d) => d.name === 'oslo-pi5-01');
    expect(canary?.labels).toEqual({
      site: 'oslo',
      hardware: 'rpi5',
      ring: 'canary',
      group: 'oslo-pi5',
      device: 'oslo-pi5-01',
    });
    expect(canary?.line).toBe(lineOf(THREE_SITES, 'name: oslo-pi5-01'));
  });

  it('assigns rings in order, each taking only devices no earlier ring took', () => {
    expect(inventory.rings.map((r) => [r.name, r.devices.length])).toEqual([
      ['canary', 2],
      ['oslo', 11],
      ['everyone', 12],
    ]);
    expect(inventory.devices.find((d) => d.name === 'bergen-n100-01')?.ring).toBe('canary');
    expect(inventory.devices.find((d) => d.name === 'trondheim-kiosk-02')?.ring).toBe('everyone');
  });

  it('splits the experiment by a hash of each device name, the same way on every run', () => {
    const [experiment] = inventory.experiments;
    const members = inventory.devices.filter((d) => d.labels.hardware === 'n100').map((d) => d.name);
    expect([...experiment.cohorts.a, ...experiment.cohorts.b].sort()).toEqual(members);
    for (const device of experiment.cohorts.b) expect(hashCohort('q8-vs-q4', device, 50)).toBe('b');
    expect(load(THREE_SITES).experiments[0].cohorts).toEqual(experiment.cohorts);
  });

  it('fills in the runtime port, Argo CD project and analysis thresholds it was not given', () => {
    expect(inventory.runtime).toEqual({ image: RUNTIME_IMAGE, port: 8080 });
    expect(inventory.gitops).toEqual({
      repo: 'https://git.acme.internal/edge/fleet.git',
      revision: 'HEAD',
      path: 'gitops',
      project: 'default',
    });
    expect(inventory.analysis.maxErrorRateIncrease).toBe(0.02);
  });
});

describe('hashCohort', () => {
  it('puts about the asked share of 500 devices in cohort B', () => {
    const names = Array.from({ length: 500 }, (_, i) => `device-${i}`);
    const b = names.filter((name) => hashCohort('exp', name, 30) === 'b').length;
    // Binomial(500, 0.3): mean 150, standard deviation 10.2; five of them either side.
    expect(b).toBeGreaterThan(99);
    expect(b).toBeLessThan(201);
  });

  it('gives independent cohorts to different experiments', () => {
    const names = Array.from({ length: 400 }, (_, i) => `device-${i}`);
    const same = names.filter((n) => hashCohort('one', n, 50) === hashCohort('two', n, 50)).length;
    expect(same).toBeGreaterThan(140);
    expect(same).toBeLessThan(260);
  });
});

describe('expandDeviceRange', () => {
  it('pads numbers to the width of a bound written with a leading zero, as bash does', () => {
    expect(expandDeviceRange('pi-{08..11}')).toEqual(['pi-08', 'pi-09', 'pi-10', 'pi-11']);
    expect(expandDeviceRange('pi-{8..11}-b')).toEqual(['pi-8-b', 'pi-9-b', 'pi-10-b', 'pi-11-b']);
  });

  it('refuses a range that counts down, names too many devices, or makes invalid names', () => {
    expect(expandDeviceRange('pi-{9..1}')).toMatchObject({ why: 'the range pi-{9..1} counts down' });
    expect(expandDeviceRange('pi-{1..20000}')).toMatchObject({ fix: 'Split it into several groups.' });
    expect(expandDeviceRange('{1..2}-')).toMatchObject({ why: expect.stringContaining('"1-"') });
  });
});

describe('fleet file problems', () => {
  it('names the line and column of an unknown key and suggests the key meant', () => {
    const text = THREE_SITES.replace(
      'hardware: { deviceClass: intel-n100 }\n    server',
      'hardwre: { deviceClass: intel-n100 }\n    server',
    );
    const { error, problems } = problemsOf(text);
    expect(error.category).toBe('input');
    // One problem: the typo is not also reported as a missing "hardware".
    expect(problems).toHaveLength(1);
    const [unknown] = problems;
    expect(unknown).toMatchObject({
      line: lineOf(text, 'hardwre:'),
      column: 5,
      message: 'unknown key "hardwre" in group "bergen-n100"',
    });
    expect(unknown.fix).toMatch(/^Did you mean "hardware"\?/);
    expect(error.message).toContain(`fleet.yaml:${lineOf(text, 'hardwre:')}:5: unknown key "hardwre"`);
  });

  it('reports a device listed twice with both lines', () => {
    const text = THREE_SITES.replace('devices: [trondheim-kiosk-01,', 'devices: [oslo-pi5-07,');
    const { error, problems } = problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        line: lineOf(text, 'devices: [oslo-pi5-07,'),
        message: `device "oslo-pi5-07" is listed twice (first at line ${lineOf(text, 'range: "oslo-pi5-{02..12}"')}, in group "oslo-pi5")`,
      }),
    ]);
    expect(error.hint).toBe('Remove one of the two entries, or rename the device.');
  });

  it('reports a ring selector that matches nothing, with the values the label does have', () => {
    const text = THREE_SITES.replace('selector: { site: oslo }', 'selector: { site: olso }');
    const { problems } = problemsOf(text);
    expect(problems[0]).toMatchObject({
      line: lineOf(text, 'selector: { site: olso }'),
      message: 'ring "oslo" selects site=olso, which matches no device',
      fix: 'Check the labels: site is one of bergen, oslo, trondheim.',
    });
  });

  it('reports an experiment selector that matches nothing', () => {
    const text = THREE_SITES.replace('selector: { hardware: n100 }', 'selector: { hardware: n150 }');
    const { problems } = problemsOf(text);
    expect(problems[0]).toMatchObject({
      line: lineOf(text, 'selector: { hardware: n150 }'),
      message: 'experiment "q8-vs-q4" selects hardware=n150, which matches no device',
    });
  });

  it('refuses a runtime image without a digest, at its line', () => {
    const text = THREE_SITES.replace(RUNTIME_IMAGE, 'registry.acme.internal/alki/runtime:latest');
    const { problems } = problemsOf(text);
    expect(problems[0]).toMatchObject({
      line: lineOf(text, 'image: registry.acme.internal/alki/runtime:latest'),
      fix: 'Pin it: registry.acme.internal/alki/runtime:latest@sha256:<digest> (`alki image runtime --push` prints it).',
    });
  });

  it('reports YAML syntax errors and duplicate keys at their lines', () => {
    const broken = THREE_SITES.replace('kind: Fleet', 'kind: Fleet\nkind: Fleet');
    expect(problemsOf(broken).problems[0]).toMatchObject({
      line: 3,
      message: 'a key appears twice in the same mapping',
    });
    const syntax = THREE_SITES.replace('name: acme-retail', 'name: [acme-retail');
    expect(problemsOf(syntax).problems[0].message).toMatch(/^YAML syntax:/);
  });

  it('says what a device entry may look like when it is neither a name nor an entry', () => {
    const text = THREE_SITES.replace(
      '- { range: "bergen-n100-{02..08}" }',
      '- { names: "bergen-n100-{02..08}" }',
    );
    const { problems } = problemsOf(text);
    expect(problems[0]).toMatchObject({
      line: lineOf(text, 'names: "bergen'),
      message:
        'device entry 2 of group "bergen-n100" is neither a device name nor a {name, labels} or {range, labels} entry',
    });
  });

  it('asks for exactly one hardware source and one way to reach a group', () => {
    const text = THREE_SITES.replace(
      'hardware: { deviceClass: rpi5 }\n    reach: { k3s',
      'hardware: {}\n    reach: { systemd: {}, k3s',
    );
    const messages = problemsOf(text).problems.map((p) => p.message);
    expect(messages).toEqual([
      'group "oslo-pi5" must name exactly one of hardware.profile and hardware.deviceClass',
      'group "oslo-pi5" must be reached in exactly one way, k3s or systemd',
    ]);
  });

  it('refuses rings that leave devices out, and reserved label keys', () => {
    const text = THREE_SITES.replace('  - name: everyone\n', '').replace(
      'labels: { site: oslo, hardware: rpi5 }',
      'labels: { site: oslo, hardware: rpi5, group: x }',
    );
    const messages = problemsOf(text).problems.map((p) => p.message);
    expect(messages).toContain('the label "group" is reserved');
    expect(messages).toContain(
      '12 devices are in no ring: bergen-n100-02, bergen-n100-03, bergen-n100-04, bergen-n100-05, bergen-n100-06 and 7 more',
    );
  });

  it('refuses an empty cohort', () => {
    const text = THREE_SITES.replace(
      'split: { by: hash, percentB: 50 }',
      'split: { by: label, selectorB: { site: [bergen, trondheim] } }',
    );
    expect(problemsOf(text).problems[0].message).toBe(
      'cohort A of experiment "q8-vs-q4" has no device (of 11)',
    );
  });

  it('asks for gitops.repo when a group is reached through k3s', () => {
    const text = THREE_SITES.replace(/gitops:\n {2}repo: .*\n {2}path: gitops\n/, '');
    expect(problemsOf(text).problems[0]).toMatchObject({
      line: 1,
      fix: expect.stringContaining('gitops: { repo:'),
    });
  });
});

describe('the 500-device fleet file', () => {
  it('is short, because groups and ranges describe the devices', () => {
    const text = largeFleet(500, RUNTIME_IMAGE);
    expect(load(text).devices).toHaveLength(500);
    expect(text.split('\n').length).toBeLessThan(100);
  });
});

describe('the shipped schema', () => {
  it('is the schema the parser uses', () => {
    const shipped: unknown = JSON.parse(
      readFileSync(new URL('../../schema/fleet.v1.json', import.meta.url), 'utf8'),
    );
    expect(shipped).toEqual(fleetSchemaV1);
  });
});
