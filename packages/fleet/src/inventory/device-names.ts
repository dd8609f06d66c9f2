import { DEVICE_RANGE_PATTERN } from './schema.js';

// One range line could otherwise ask for billions of names; the largest real
// fleets Alki aims at are thousands of devices per group.
export const MAX_RANGE_SIZE = 10_000;

/** A range that cannot be expanded, and why. */
export interface RangeError {
  why: string;
  fix: string;
}

/**
 * The names a range entry stands for: `store-{001..120}` is store-001 to
 * store-120. As in bash's brace expansion, a bound written with a leading
 * zero pads every number to the wider bound's width.
 *
 * @example
 * expandDeviceRange('pi-{08..11}'); // ['pi-08', 'pi-09', 'pi-10', 'pi-11']
 */
export function expandDeviceRange(range: string): string[] | RangeError {
  const match = new RegExp(DEVICE_RANGE_PATTERN).exec(range);
  if (!match) {
    return { why: `"${range}" is not a range`, fix: 'Write a range as prefix-{01..40}.' };
  }
  const [, prefix, startText, endText, suffix] = match;
  const start = Number(startText);
  const end = Number(endText);
  if (end < start) {
    return {
      why: `the range ${range} counts down`,
      fix: `Write the smaller number first: ${prefix}{${endText}..${startText}}${suffix}.`,
    };
  }
  if (end - start + 1 > MAX_RANGE_SIZE) {
    return {
      why: `the range ${range} names ${end - start + 1} devices, more than ${MAX_RANGE_SIZE}`,
      fix: 'Split it into several groups.',
    };
  }
  const padded = /^0\d/.test(startText) || /^0\d/.test(endText);
  const width = padded ? Math.max(startText.length, endText.length) : 0;
  const names: string[] = [];
  for (let n = start; n <= end; n++) names.push(`${prefix}${String(n).padStart(width, '0')}${suffix}`);
  const bad = names.find((name) => !/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(name));
  if (bad !== undefined) {
    return {
      why: `the range makes "${bad}", which is not a valid device name`,
      fix: 'Device names are DNS labels: at most 63 lower-case letters, digits and "-", not starting or ending with "-".',
    };
  }
  return names;
}
