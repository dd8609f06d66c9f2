import { CalibrateError } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * A memory size as people write it: `2GiB`, `1.5G`, `512MiB`, `800MB`,
 * `1073741824`. Single letters are binary, as in systemd's MemoryMax= and
 * Kubernetes' Gi; `MB` and `GB` are decimal.
 *
 * @example
 * parseByteSize('1.5GiB'); // 1610612736
 */
export function parseByteSize(text: string, flag = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    throw new CalibrateError(
      'INVALID_OPTIONS',
      `${flag} must be a size such as 2GiB, 1500MiB or 800MB, not ${JSON.stringify(text)}.`,
      {
        details: { value: text },
      },
    );
  }
  return Math.round(Number(match[1]) * unit);
}
