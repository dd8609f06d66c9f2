import { describe, expect, it } from '@jest/globals';
import { writeProfile, type CalibrationProfile } from '@alki/calibrate';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { THREE_SITES } from '../__fixtures__/fleets.js';
import { calibrateProfiles } from './calibrate-profiles.js';
import { resolveInventory } from './inventory.js';
import { resolveProfiles } from './load-fleet.js';
import { parseFleet } from './parse-fleet.js';

const GIB = 1024 ** 3;

/** A profile as `alki calibrate --save-profile` writes it, for an N100 whose server may use 12 GiB. */
const N100_PROFILE: CalibrationProfile = {
  schemaVersion: 1,
  kind: 'alki-calibration-profile',
  created: '2026-01-01T00:00:00.000Z',
  alkiVersion: '0.1.0',
  device: {
    name: 'store-n100',
    source: 'probe',
    hardware: {
      cpuModel: 'Intel(R) N100',
      architecture: 'x86_64',
      cores: 4,
      logicalCores: 4,
      simd: ['avx2'],
      memoryBytes: 12 * GIB,
      gpu: { backend: null, devices: [], vramTotalBytes: 0 },
    },
  },
  model: { name: 'qwen3', architecture: 'qwen3', parameterCount: 600_000_000, contextLength: 32768 },
  constraints: { minTokensPerSecond: 10 },
  measurements: [],
  recommendation: {
    quant: 'Q4_K_M',
    context: 8192,
    threads: 4,
    batch: 512,
    expected: { generationTokensPerSecond: 21, promptTokensPerSecond: 180, memoryBytes: 900 * 1024 ** 2 },
    reasons: ['fastest quant within the constraints'],
  },
  rejected: [],
};

describe('calibrateProfiles', () => {
  it("takes device classes from @alki/calibrate's catalogue", async () => {
    const inventory = resolveInventory(parseFleet(THREE_SITES, 'fleet.yaml'));
    const profiles = await resolveProfiles(inventory, calibrateProfiles);
    expect(profiles.get('oslo-pi5')).toMatchObject({
      architecture: 'aarch64',
      cores: 4,
      memoryBytes: 8 * GIB,
    });
    expect(profiles.get('bergen-n100')?.source).toMatch(/^device class intel-n100 /);
  });

  it('takes the hardware and the recommendation from a calibration profile, relative to the fleet file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-fleet-profile-'));
    fs.mkdirSync(path.join(dir, 'profiles'));
    await writeProfile(path.join(dir, 'profiles', 'n100.json'), N100_PROFILE);
    const text = THREE_SITES.replace(
      'hardware: { deviceClass: intel-n100 }\n    server',
      'hardware: { profile: profiles/n100.json }\n    server',
    );
    const inventory = resolveInventory(parseFleet(text, path.join(dir, 'fleet.yaml')));
    const profiles = await resolveProfiles(inventory, calibrateProfiles);
    expect(profiles.get('bergen-n100')).toEqual({
      source: `profile ${path.join(dir, 'profiles', 'n100.json')}`,
      architecture: 'x86_64',
      cores: 4,
      memoryBytes: 12 * GIB,
      recommended: { quant: 'Q4_K_M', ctx: 8192, threads: 4, batch: 512, memoryBytes: 900 * 1024 ** 2 },
    });
  });

  it('names the group and lists the known classes when a class is not in the catalogue', async () => {
    const text = THREE_SITES.replace('hardware: { deviceClass: rpi5 }', 'hardware: { deviceClass: rpi9 }');
    const inventory = resolveInventory(parseFleet(text, 'fleet.yaml'));
    await expect(resolveProfiles(inventory, calibrateProfiles)).rejects.toMatchObject({
      code: 'INVALID_PROFILE',
      category: 'input',
      message: 'Group "oslo-pi5" of fleet.yaml: There is no device "rpi9" in the catalogue.',
      hint: expect.stringContaining('rpi5, rpi5-4gb, rpi4'),
    });
  });

  it('names the group when its profile file is missing', async () => {
    const text = THREE_SITES.replace(
      'hardware: { deviceClass: rpi5 }',
      'hardware: { profile: /nonexistent/pi.json }',
    );
    const inventory = resolveInventory(parseFleet(text, 'fleet.yaml'));
    await expect(resolveProfiles(inventory, calibrateProfiles)).rejects.toMatchObject({
      code: 'INVALID_PROFILE',
      message: expect.stringMatching(
        /^Group "oslo-pi5" of fleet.yaml: The profile \/nonexistent\/pi.json cannot be read/,
      ),
    });
  });
});
