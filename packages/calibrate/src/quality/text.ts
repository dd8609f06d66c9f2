import { fileURLToPath } from 'node:url';

/**
 * The built-in calibration text: about 1,300 words of plain English prose,
 * instructions, dialogue, numbers and a list, written for Alki and licensed
 * with it (Apache-2.0), so it may ship and be quoted freely. Mixed registers
 * give the quants' differences somewhere to show.
 */
export const BUILT_IN_TEXT = {
  name: 'alki-calibration-text',
  license: 'Apache-2.0 (written for Alki, part of @alki/calibrate)',
} as const;

/** The path of the built-in text file (data/calibration-text.txt, shipped with the package). */
export function builtInTextFile(): string {
  // src/quality and dist/quality are both two levels below the package root.
  return fileURLToPath(new URL('../../data/calibration-text.txt', import.meta.url));
}
