import { parseByteSize } from '../units/byte-size.js';
import type { ReadText } from './cgroup.js';

// sysfs describes CPU 0's caches as index0, index1, ... (the kernel's
// Documentation/ABI/testing/sysfs-devices-system-cpu): L1 data and
// instruction, L2, L3, sometimes an L4. Eight covers every CPU seen.
const MAX_CACHE_INDEXES = 8;

/**
 * Size of the last-level cache of CPU 0 in bytes, from sysfs (`level` and
 * `size` of each cache index), or undefined where the kernel does not say
 * (some Arm boards and containers).
 *
 * @example
 * await readLastLevelCacheBytes(read); // 16777216 for a 16 MiB L3
 */
export async function readLastLevelCacheBytes(
  read: ReadText,
  cacheDir = '/sys/devices/system/cpu/cpu0/cache',
): Promise<number | undefined> {
  const caches = await Promise.all(
    Array.from({ length: MAX_CACHE_INDEXES }, async (_, index) => {
      const [level, size] = await Promise.all([
        read(`${cacheDir}/index${index}/level`),
        read(`${cacheDir}/index${index}/size`),
      ]);
      const bytes = size === undefined ? undefined : parseCacheSize(size);
      return level === undefined || bytes === undefined ? undefined : { level: Number(level), bytes };
    }),
  );
  let last: { level: number; bytes: number } | undefined;
  for (const cache of caches) {
    if (!cache || !Number.isInteger(cache.level)) continue;
    if (!last || cache.level > last.level || (cache.level === last.level && cache.bytes > last.bytes))
      last = cache;
  }
  return last?.bytes;
}

// sysfs writes `32K`, `16384K`, sometimes `1M`: binary units.
function parseCacheSize(text: string): number | undefined {
  try {
    return parseByteSize(text.trim());
  } catch {
    return undefined;
  }
}
