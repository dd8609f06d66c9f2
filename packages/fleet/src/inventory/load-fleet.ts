import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FleetError } from '../errors.js';
import type { GroupProfile } from '../plan/types.js';
import { resolveInventory, type Inventory } from './inventory.js';
import { MAX_FLEET_FILE_BYTES, parseFleet } from './parse-fleet.js';

/**
 * Reads, parses and checks a fleet file.
 *
 * @example
 * const inventory = await loadFleet('fleet.yaml');
 * console.log(`${inventory.devices.length} devices in ${inventory.groups.length} groups`);
 */
export async function loadFleet(file: string): Promise<Inventory> {
  const info = await stat(file).catch((cause: NodeJS.ErrnoException) => {
    throw new FleetError(
      'INVALID_FLEET',
      `The fleet file ${file} cannot be read: ${cause.code === 'ENOENT' ? 'it does not exist' : cause.message}.`,
      {
        cause,
        hint: 'Pass the path of a fleet file; docs/fleet.md shows one.',
        details: { file },
      },
    );
  });
  if (!info.isFile()) {
    throw new FleetError('INVALID_FLEET', `${file} is not a file.`, {
      hint: 'Pass the path of a fleet file.',
      details: { file },
    });
  }
  if (info.size > MAX_FLEET_FILE_BYTES) {
    throw new FleetError(
      'INVALID_FLEET',
      `${file} is larger than ${MAX_FLEET_FILE_BYTES / 1024 / 1024} MiB.`,
      {
        hint: 'Describe devices with groups, ranges and selectors instead of one stanza each.',
        details: { file },
      },
    );
  }
  return resolveInventory(parseFleet(await readFile(file, 'utf8'), file));
}

/** Turns a group's `hardware` entry into what the plan needs; profiles are read relative to the fleet file. */
export interface ProfileResolver {
  /** A calibration profile file (an absolute path). */
  profile(file: string): Promise<GroupProfile>;
  /** A device class of the catalogue. */
  deviceClass(name: string): GroupProfile;
}

/**
 * The profile of every group, read once per file or class.
 *
 * @example
 * const profiles = await resolveProfiles(inventory, calibrateProfiles);
 */
export async function resolveProfiles(
  inventory: Inventory,
  resolver: ProfileResolver,
): Promise<Map<string, GroupProfile>> {
  const base = path.dirname(path.resolve(inventory.file));
  const cache = new Map<string, Promise<GroupProfile>>();
  const profiles = new Map<string, GroupProfile>();
  for (const group of inventory.groups) {
    const { hardware } = group;
    const key =
      'profile' in hardware
        ? `profile:${path.resolve(base, hardware.profile)}`
        : `class:${hardware.deviceClass}`;
    let pending = cache.get(key);
    if (!pending) {
      pending =
        'profile' in hardware
          ? resolver.profile(path.resolve(base, hardware.profile))
          : Promise.resolve().then(() => resolver.deviceClass(hardware.deviceClass));
      cache.set(key, pending);
    }
    try {
      profiles.set(group.name, await pending);
    } catch (cause) {
      throw new FleetError(
        'INVALID_PROFILE',
        `Group "${group.name}" of ${inventory.file}: ${(cause as Error).message.replace(/\.$/, '')}.`,
        {
          cause,
          hint: (cause as { hint?: string }).hint ?? 'Fix the hardware entry of the group.',
          details: { group: group.name },
        },
      );
    }
  }
  return profiles;
}
