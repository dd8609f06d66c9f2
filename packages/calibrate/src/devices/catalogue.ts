import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CalibrateError } from '../errors.js';

/** One device class of the catalogue (data/devices.json). */
export interface DeviceProfile {
  /** The name `--emulate` and fleet files use: `rpi5`, `jetson-orin-nano`. */
  id: string;
  name: string;
  architecture: 'x86_64' | 'aarch64';
  cpu: string;
  cores: number;
  clockGHz: number;
  /** FP32 operations per core per cycle (SIMD lanes x FMA pipes x 2), an estimate. */
  flopsPerCycle: number;
  simd: string[];
  memoryBytes: number;
  memory: string;
  /** Theoretical peak: transfer rate times bus width. */
  memoryBandwidthGBps: number;
  gpu: { name: string; backend: string; unifiedMemory: boolean } | null;
  /** Where the figures come from. */
  sources: string[];
}

interface CatalogueFile {
  schemaVersion: 1;
  devices: DeviceProfile[];
}

/** The catalogue's file, shipped with the package. */
export function deviceCatalogueFile(): string {
  return fileURLToPath(new URL('../../data/devices.json', import.meta.url));
}

let cached: DeviceProfile[] | undefined;

/**
 * Every device class of the catalogue.
 *
 * @example
 * deviceCatalogue().map((d) => d.id); // ['rpi5', 'rpi5-4gb', 'rpi4', ...]
 */
export function deviceCatalogue(): DeviceProfile[] {
  cached ??= (JSON.parse(readFileSync(deviceCatalogueFile(), 'utf8')) as CatalogueFile).devices;
  return cached;
}

/**
 * One device class by id, or an error that lists the ids there are.
 *
 * @example
 * findDevice('rpi5').memoryBandwidthGBps; // 17.1
 */
export function findDevice(id: string): DeviceProfile {
  const device = deviceCatalogue().find((d) => d.id === id);
  if (!device) {
    throw new CalibrateError(
      'INVALID_OPTIONS',
      `There is no device ${JSON.stringify(id)} in the catalogue.`,
      {
        hint: `Choose one of ${deviceCatalogue()
          .map((d) => d.id)
          .join(', ')}.`,
        details: { id },
      },
    );
  }
  return device;
}
