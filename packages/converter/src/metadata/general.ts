import path from 'node:path';
import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';

/**
 * A parameter count as llama.cpp's size labels write it (model_weight_count_rounded_notation
 * in gguf-py/gguf/utility.py): one significant decimal below 10, units K/M/B/T.
 */
export function sizeLabel(parameters: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) {
    if (parameters >= scale) {
      const scaled = parameters / scale;
      return `${scaled < 10 ? Number(scaled.toFixed(1)) : Math.round(scaled)}${unit}`;
    }
  }
  return String(parameters);
}

export interface GeneralInfo {
  /** general.type: 'model' (default) or 'mmproj' for a vision projector. */
  type?: 'model' | 'mmproj';
  name?: string;
  license?: string;
  source?: { repository: string; revision: string };
  dir: string;
  parameters: number;
  fileType: number;
  quantized: boolean;
}

/** Reads `license:` from a model card's YAML front matter, the way the hub shows it. */
export function licenseFromModelCard(readme: string | undefined): string | undefined {
  const front = readme?.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  const line = front?.[1].match(/^license:\s*["']?([^"'\r\n]+?)["']?\s*$/m);
  return line?.[1];
}

/** general.* metadata: name, basename, size label, license, source repository and revision, file type. */
export function generalMetadata(arch: string, info: GeneralInfo): GgufMetadataEntry[] {
  const basename = info.source ? info.source.repository.split('/').pop()! : path.basename(info.dir);
  const entries = [
    ggufEntry.string('general.architecture', arch),
    ggufEntry.string('general.type', info.type ?? 'model'),
    ggufEntry.string('general.name', info.name ?? basename),
    ggufEntry.string('general.basename', basename),
    ggufEntry.string('general.size_label', sizeLabel(info.parameters)),
  ];
  if (info.license) entries.push(ggufEntry.string('general.license', info.license));
  if (info.source) {
    entries.push(
      ggufEntry.string('general.source.url', `https://huggingface.co/${info.source.repository}`),
      ggufEntry.string('general.source.huggingface.repository', info.source.repository),
      ggufEntry.string('general.source.revision', info.source.revision),
    );
  }
  entries.push(ggufEntry.uint32('general.file_type', info.fileType));
  if (info.quantized) entries.push(ggufEntry.uint32('general.quantization_version', 2));
  return entries;
}
