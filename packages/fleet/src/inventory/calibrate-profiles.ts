import { findDevice, readProfile, type CalibrationProfile, type DeviceProfile } from '@alki/calibrate';
import type { GroupProfile } from '../plan/types.js';
import type { ProfileResolver } from './load-fleet.js';

/**
 * What a plan takes from a calibration profile (`alki calibrate
 * --save-profile`): the device's usable cores and memory, its architecture,
 * and the recommended quant, context, threads and batch with the memory
 * they were measured to need. Pure.
 *
 * @example
 * const group = groupProfileOf(await readProfile('n100.json'), 'n100.json');
 */
export function groupProfileOf(profile: CalibrationProfile, file: string): GroupProfile {
  const { hardware } = profile.device;
  const choice = profile.recommendation;
  return {
    source: `profile ${file}`,
    architecture: hardware.architecture,
    cores: hardware.cores,
    memoryBytes: hardware.memoryBytes,
    ...(choice
      ? {
          recommended: {
            quant: choice.quant,
            ctx: choice.context,
            threads: choice.threads,
            batch: choice.batch,
            memoryBytes: choice.expected.memoryBytes,
          },
        }
      : {}),
  };
}

/** What a plan takes from a device class of the catalogue: its cores, memory and architecture. Pure. */
export function groupProfileOfDevice(device: DeviceProfile): GroupProfile {
  return {
    source: `device class ${device.id} (${device.name})`,
    architecture: device.architecture,
    cores: device.cores,
    memoryBytes: device.memoryBytes,
  };
}

/**
 * Resolves fleet hardware through @alki/calibrate: profile files with its
 * reader (which checks them against its schema), device classes from its
 * catalogue (an unknown class is an error listing the known ones).
 */
export const calibrateProfiles: ProfileResolver = {
  async profile(file) {
    return groupProfileOf(await readProfile(file), file);
  },
  deviceClass(name) {
    return groupProfileOfDevice(findDevice(name));
  },
};
