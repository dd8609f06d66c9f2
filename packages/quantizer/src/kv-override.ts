// llama-quantize --override-kv KEY=TYPE:VALUE (common/common.cpp
// string_parse_kv_override), as the metadata entry llama_model_quantize_impl
// writes for it: int as uint32 of the absolute value, float as float32.
import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import { QuantizerError } from './errors.js';

/** Key and string lengths llama_model_kv_override holds (char key[128], char val_str[128]). */
const MAX_KEY_BYTES = 127;
const MAX_STRING_BYTES = 127;

function malformed(spec: string, why: string): QuantizerError {
  return new QuantizerError('UNKNOWN_TYPE', `--override-kv "${spec}" ${why}.`, {
    hint: 'Write KEY=TYPE:VALUE with TYPE int, float, bool or str, e.g. general.name=str:my-model.',
    details: { override: spec },
  });
}

/**
 * Parses one --override-kv value into the metadata entry llama-quantize writes.
 *
 * @example
 * parseKvOverride('llama.context_length=int:4096'); // uint32 4096
 * parseKvOverride('general.name=str:tiny');
 */
export function parseKvOverride(spec: string): GgufMetadataEntry {
  const at = spec.indexOf('=');
  if (at <= 0) throw malformed(spec, 'is not KEY=TYPE:VALUE');
  const key = spec.slice(0, at);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw malformed(spec, `has a key longer than ${MAX_KEY_BYTES} bytes`);
  const rest = spec.slice(at + 1);
  const colon = rest.indexOf(':');
  const type = colon < 0 ? rest : rest.slice(0, colon);
  const value = colon < 0 ? '' : rest.slice(colon + 1);
  switch (type) {
    case 'int': {
      if (!/^\s*[+-]?\d+$/.test(value)) throw malformed(spec, 'needs an integer value');
      // gguf_set_val_u32(key, (uint32_t) std::abs(val_i64)).
      const magnitude = BigInt(value.trim().replace(/^[+-]/, ''));
      return ggufEntry.uint32(key, Number(magnitude & 0xffffffffn));
    }
    case 'float': {
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number)) throw malformed(spec, 'needs a finite number');
      return ggufEntry.float32(key, Math.fround(number));
    }
    case 'bool':
      if (value !== 'true' && value !== 'false') throw malformed(spec, 'needs true or false');
      return ggufEntry.bool(key, value === 'true');
    case 'str':
      if (colon < 0) throw malformed(spec, 'needs a value after str:');
      if (Buffer.byteLength(value) > MAX_STRING_BYTES)
        throw malformed(spec, `has a value longer than ${MAX_STRING_BYTES} bytes`);
      return ggufEntry.string(key, value);
    default:
      throw malformed(spec, `has the type "${type}", not int, float, bool or str`);
  }
}

/**
 * Applies metadata entries as gguf_set_val_* does: an existing key is removed
 * and the new entry goes to the end.
 */
export function setMetadata(metadata: GgufMetadataEntry[], entries: readonly GgufMetadataEntry[]): void {
  for (const entry of entries) {
    const existing = metadata.findIndex((e) => e.key === entry.key);
    if (existing >= 0) metadata.splice(existing, 1);
    metadata.push(entry);
  }
}
