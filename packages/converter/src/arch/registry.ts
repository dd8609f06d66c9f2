import { ConverterError } from '../errors.js';
import { gemmaArchitecture } from './gemma.js';
import { gemma2Architecture } from './gemma2.js';
import { gemma3Architecture } from './gemma3.js';
import { graniteArchitecture } from './granite.js';
import { llamaArchitecture } from './llama.js';
import { mistralArchitecture } from './mistral.js';
import { olmo2Architecture } from './olmo2.js';
import { phi3Architecture } from './phi3.js';
import { qwen2Architecture } from './qwen2.js';
import { qwen2moeArchitecture } from './qwen2moe.js';
import { qwen3Architecture } from './qwen3.js';
import { qwen3moeArchitecture } from './qwen3moe.js';
import { smollm3Architecture } from './smollm3.js';
import { smolvlmArchitecture } from './smolvlm.js';
import { stablelmArchitecture } from './stablelm.js';
import type { ArchitectureModule } from './types.js';

/**
 * Architecture modules by their config.json `architectures[0]` name. Start
 * from `defaultArchitectures()` and register your own to convert more.
 *
 * @example
 * const registry = defaultArchitectures().register({ ...llamaArchitecture, hfArchitectures: ['MyLlamaForCausalLM'] });
 * await convert({ input: dir, output: 'out.gguf', architectures: registry });
 */
export class ArchitectureRegistry {
  private readonly byName = new Map<string, ArchitectureModule>();

  /** Adds (or replaces) the module for each of its `hfArchitectures`. */
  register(module: ArchitectureModule): this {
    for (const name of module.hfArchitectures) this.byName.set(name, module);
    return this;
  }

  /** The registered `architectures[0]` names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Each registered module once, in registration order. */
  modules(): ArchitectureModule[] {
    return [...new Set(this.byName.values())];
  }

  /** The module for a name, or an error that lists the supported ones. */
  get(name: unknown): ArchitectureModule {
    const module = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!module) {
      throw new ConverterError(
        'UNSUPPORTED_ARCHITECTURE',
        `Architecture ${JSON.stringify(name ?? null)} is not supported. Supported: ${this.names().join(', ')}.`,
        {
          details: { architecture: name ?? null, supported: this.names() },
          hint: 'Register a module for it with ArchitectureRegistry.register, or convert a supported model.',
        },
      );
    }
    return module;
  }
}

/** A fresh registry with every built-in architecture. */
export function defaultArchitectures(): ArchitectureRegistry {
  return new ArchitectureRegistry()
    .register(llamaArchitecture)
    .register(mistralArchitecture)
    .register(qwen2Architecture)
    .register(qwen3Architecture)
    .register(phi3Architecture)
    .register(gemmaArchitecture)
    .register(gemma2Architecture)
    .register(stablelmArchitecture)
    .register(gemma3Architecture)
    .register(smollm3Architecture)
    .register(graniteArchitecture)
    .register(olmo2Architecture)
    .register(qwen2moeArchitecture)
    .register(qwen3moeArchitecture)
    .register(smolvlmArchitecture);
}
