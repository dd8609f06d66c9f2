/**
 * Interleaves the rotary halves of each head's rows, in place over `rows`
 * rows of `rowBytes` bytes: within a head of n rows, output row 2i+j is input
 * row j*n/2+i. This is LlamaModel.permute in convert_hf_to_gguf
 * (reshape(heads, 2, n/2, ...).swapaxes(1, 2)), done on bytes so it works for
 * any dtype. `rows` must be a whole number of heads.
 */
export function permuteHeadRows(data: Uint8Array, rows: number, rowBytes: number, rowsPerHead: number): void {
  const half = rowsPerHead / 2;
  const head = new Uint8Array(rowsPerHead * rowBytes);
  for (let start = 0; start < rows; start += rowsPerHead) {
    const base = start * rowBytes;
    head.set(data.subarray(base, base + rowsPerHead * rowBytes));
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (j * half + i) * rowBytes;
        data.set(head.subarray(from, from + rowBytes), base + (2 * i + j) * rowBytes);
      }
    }
  }
}
