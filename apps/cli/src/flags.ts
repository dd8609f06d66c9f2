import { CliError } from './errors.js';

/**
 * `--ngl auto` or a whole number of layers, for every command that takes it.
 *
 * @example
 * parseGpuLayers('12'); // 12
 */
export function parseGpuLayers(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  const layers = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(layers))
    throw new CliError('USAGE', `--ngl must be auto or a whole number of layers; got ${value}.`, {
      details: { flag: '--ngl' },
    });
  return layers;
}
