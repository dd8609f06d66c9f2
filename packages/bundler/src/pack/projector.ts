import { resolveModelTarget } from '@alki/hub';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import { quantLabel } from '../model/model-facts.js';
import type { PreparedModel, SourceContext } from './context.js';

/** `general.architecture` of llama.cpp's projector GGUFs (convert_hf_to_gguf --mmproj, gguf-py MODEL_ARCH.MMPROJ). */
const PROJECTOR_ARCHITECTURE = 'clip';

// A projector whose header names no file type still names its quant in the
// file name, as the hub's projectors do: mmproj-model-f16.gguf, mmproj-BF16.gguf.
function quantFromName(file: string): string | undefined {
  return /[-.](F16|BF16|F32|Q8_0|Q[2-6]_[0-9A-Z_]+)\.gguf$/i.exec(path.basename(file))?.[1]?.toUpperCase();
}

/**
 * A vision projector ready to go into a bundle beside its model: the file's
 * header must say it is a projector (`general.architecture` clip), so a
 * language model or anything else given as `--mmproj` is refused here, not
 * when llama-server first starts on a device.
 */
export async function prepareProjector(
  file: string,
  inspect: SourceContext['inspect'],
  scratch = false,
): Promise<PreparedModel> {
  // The one resolver every command uses: a missing file, a pipe or a folder is refused by name.
  await resolveModelTarget(file, { accept: ['file'] });
  const facts = await inspect(file);
  if (facts.architecture !== PROJECTOR_ARCHITECTURE) {
    throw new BundlerError(
      'INVALID_INPUT',
      `${path.basename(file)} is not a vision projector: its general.architecture is ${JSON.stringify(facts.architecture)}, not "clip".`,
      {
        category: 'input',
        hint: 'Give the mmproj-*.gguf file that belongs to the model (llama.cpp writes it with convert_hf_to_gguf --mmproj).',
        details: { file, architecture: facts.architecture },
      },
    );
  }
  const quant = facts.fileType ? quantLabel(facts.fileType) : quantFromName(file);
  if (!quant) {
    throw new BundlerError(
      'INVALID_INPUT',
      `${path.basename(file)} does not say its type (general.file_type), and its name does not either.`,
      {
        category: 'input',
        hint: 'Rename it to end in its type, for example mmproj-f16.gguf.',
        details: { file },
      },
    );
  }
  return { file, facts, quant, scratch };
}
