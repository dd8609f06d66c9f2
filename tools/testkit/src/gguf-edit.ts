import {
  createGgufWriter,
  fileSource,
  readGguf,
  readTensorData,
  type GgufMetadataEntry,
} from '@alki/gguf-reader';

/**
 * Copies a GGUF file with its metadata edited and its tensors unchanged, to
 * make broken fixtures (a missing `llama.feed_forward_length` makes llama.cpp
 * abort on load) from a working one.
 *
 * @example
 * await rewriteGgufMetadata(tiny.path, broken, (entries) => entries.filter((e) => e.key !== 'llama.feed_forward_length'));
 */
export async function rewriteGgufMetadata(
  source: string,
  destination: string,
  edit: (entries: GgufMetadataEntry[]) => GgufMetadataEntry[],
): Promise<void> {
  const input = await fileSource(source);
  try {
    const file = await readGguf(input);
    const tensors = file.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims }));
    const writer = await createGgufWriter(destination, { metadata: edit(file.metadata), tensors });
    try {
      for (const tensor of file.tensors)
        await writer.writeTensorData(await readTensorData(input, file, tensor));
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  } finally {
    await input.close?.();
  }
}
