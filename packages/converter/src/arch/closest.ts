import type { ArchitectureRegistry } from './registry.js';
import type { HfConfig } from './types.js';

/** How well a registered architecture fits a checkpoint it was not made for. */
export interface ArchitectureFit {
  /** The registered `architectures[0]` name. */
  hfArchitecture: string;
  ggufArchitecture: string;
  /** Checkpoint tensors it gives a GGUF name (or drops on purpose). */
  mapped: number;
  total: number;
  /** The tensors it does not know, with layer and expert numbers folded into N, most frequent first. */
  unknown: Array<{ pattern: string; count: number }>;
}

/**
 * Ranks the registered architectures by how many of a checkpoint's tensors
 * each one maps, for an architecture that is not registered: the best fit
 * and what it does not know tell a user (or the next module's author) how
 * far the model is from a supported one. Pure: names in, ranking out.
 *
 * @example
 * const [best] = rankArchitectures(defaultArchitectures(), config, [...checkpoint.tensors.keys()]);
 * console.log(best.hfArchitecture, best.mapped, best.total, best.unknown);
 */
export function rankArchitectures(
  registry: ArchitectureRegistry,
  config: HfConfig,
  tensorNames: string[],
): ArchitectureFit[] {
  const fits: ArchitectureFit[] = [];
  for (const module of registry.modules()) {
    const textConfig = module.textConfig?.(config) ?? config;
    const unknown = new Map<string, number>();
    let mapped = 0;
    for (const tensor of tensorNames) {
      let known: boolean;
      try {
        known = module.mapTensor(tensor, textConfig) !== undefined;
      } catch {
        // A mapping that needs a config value this checkpoint lacks does not fit.
        known = false;
      }
      if (known) mapped++;
      else {
        const pattern = tensor.replace(/\.\d+\./g, '.N.');
        unknown.set(pattern, (unknown.get(pattern) ?? 0) + 1);
      }
    }
    fits.push({
      hfArchitecture: module.hfArchitectures[0],
      ggufArchitecture: module.ggufArchitecture,
      mapped,
      total: tensorNames.length,
      unknown: [...unknown].map(([pattern, count]) => ({ pattern, count })).sort((a, b) => b.count - a.count),
    });
  }
  // The sort is stable: registration order breaks ties, so the plainest family (llama) comes first.
  return fits.sort((a, b) => b.mapped - a.mapped);
}
