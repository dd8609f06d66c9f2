import { FleetError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Seconds of a duration written as Prometheus writes them: `90s`, `5m`,
 * `1h`, `7d`, or combined (`1h30m`).
 *
 * @example
 * parseDuration('1h30m', '--window'); // 5400
 */
export function parseDuration(text: string, option: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new FleetError('INVALID_OPTIONS', `${option} ${JSON.stringify(text)} is not a duration.`, {
      hint: 'Write it as 30s, 5m, 1h or 1h30m.',
    });
  }
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * UNITS[unit], 0);
}
