import { describe, expect, it } from '@jest/globals';
import {
  bufferSource,
  ggufEntry,
  GgmlType,
  GgufValueType,
  layoutTensors,
  readGguf,
  serializeGgufHeader,
  type ByteSource,
} from './index.js';

describe('readGguf', () => {
  it('reads at most 1 MiB past the header, however large the tensor data', async () => {
    // A 2.2 MB header: doubling reads without a cap would run about 1.9 MB past it.
    const tokens = Array.from({ length: 135_000 }, (_, i) => `tok${i}`);
    const tensors = layoutTensors([{ name: 'big', type: GgmlType.F32, dims: [1024 * 1024] }]);
    const header = serializeGgufHeader({
      metadata: [ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens)],
      tensors,
    });
    const bytes = new Uint8Array(header.length + tensors[0].byteSize);
    bytes.set(header);
    const inner = bufferSource(bytes);
    let furthest = 0;
    const source: ByteSource = {
      size: bytes.length,
      read: (offset, length) => {
        furthest = Math.max(furthest, offset + length);
        return inner.read(offset, length);
      },
    };
    const file = await readGguf(source);
    expect(file.dataOffset).toBe(header.length);
    expect(furthest).toBeLessThanOrEqual(file.dataOffset + 1024 * 1024);
    expect(furthest).toBeLessThan(bytes.length);
  });

  it('stops between sections when the signal is aborted', async () => {
    const header = serializeGgufHeader({
      metadata: [ggufEntry.string('general.architecture', 'llama')],
      tensors: [],
    });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(readGguf(bufferSource(header), { signal: controller.signal })).rejects.toThrow('stop');
  });
});
