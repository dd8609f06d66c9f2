import { fileSource, openGguf, readTensorData, type GgufFile } from '@alki/gguf-reader';

// Each read opens and closes its own file source, so no descriptor outlives a test.
export async function readGgufFile(
  file: string,
): Promise<{ gguf: GgufFile; tensor: (name: string) => Promise<Uint8Array> }> {
  const gguf = await openGguf(file);
  return {
    gguf,
    tensor: async (name) => {
      const info = gguf.tensors.find((t) => t.name === name);
      if (!info) throw new Error(`no tensor ${name}`);
      const source = await fileSource(file);
      try {
        return await readTensorData(source, gguf, info);
      } finally {
        await source.close?.();
      }
    },
  };
}
