// Benchmark: `pack` of a ~1 GB GGUF (copy while hashing, plus the small
// metadata files) against `sha256sum` + `cp` of the same file, in the same
// run. Goal: a ratio of 1.1 or less. Also measures the other copy
// strategies: `clone` (copyFile with FICLONE, i.e. a reflink where the file
// system has them, copy_file_range elsewhere, then a hash pass) and `link`
// (--link: a hard link, then a hash pass).
//
//   npm run build && npx tsx tools/bench/pack.ts [MiB] [runs]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack, type CopyStrategy } from '@alki/bundler';
import { createGgufWriter, ggufEntry, GgmlType } from '@alki/gguf-reader';
import { measure, report, runCommand } from './harness.js';

const mebibytes = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 5);
const CHUNK_FLOATS = 4 * 1024 * 1024;

/** A llama-shaped GGUF header with one big F32 tensor of pseudo-random data. */
async function writeBigGguf(file: string): Promise<void> {
  const floats = Math.floor((mebibytes * 1024 * 1024) / 4 / CHUNK_FLOATS) * CHUNK_FLOATS;
  const writer = await createGgufWriter(file, {
    metadata: [
      ggufEntry.string('general.architecture', 'llama'),
      ggufEntry.string('general.name', 'bench'),
      ggufEntry.uint32('general.file_type', 0),
      ggufEntry.uint32('llama.context_length', 2048),
    ],
    tensors: [{ name: 'weights', type: GgmlType.F32, dims: [floats] }],
  });
  const chunk = new Float32Array(CHUNK_FLOATS);
  let state = 7;
  for (let done = 0; done < floats; done += CHUNK_FLOATS) {
    for (let i = 0; i < chunk.length; i++) {
      state = (state * 1664525 + 1013904223) >>> 0;
      chunk[i] = state / 2 ** 32;
    }
    await writer.writeTensorData(new Uint8Array(chunk.buffer));
  }
  await writer.finish();
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-pack-'));
try {
  const source = path.join(work, 'model.gguf');
  await writeBigGguf(source);
  const size = fs.statSync(source).size;
  const copy = path.join(work, 'copy.gguf');
  const out = path.join(work, 'bundle');

  const reference = await measure(
    'sha256sum + cp',
    () => {
      fs.rmSync(copy, { force: true });
      runCommand('sh', ['-c', 'sha256sum "$1" > /dev/null && cp "$1" "$2"', 'sh', source, copy]);
    },
    { runs },
  );
  const strategies: CopyStrategy[] = ['stream', 'clone', 'link'];
  const rows = [reference];
  for (const strategy of strategies) {
    rows.push(
      await measure(
        `alki pack (${strategy})`,
        async () => {
          fs.rmSync(out, { recursive: true, force: true });
          await pack({
            source,
            out,
            name: 'bench',
            copyStrategy: strategy,
            link: strategy === 'link',
            sourceDateEpoch: 1,
          });
        },
        { runs },
      ),
    );
  }
  report(
    `pack a ${(size / 1024 / 1024).toFixed(0)} MiB GGUF (${os.cpus().length} cores, ${runs} runs each, file in the page cache)`,
    rows,
    'sha256sum + cp',
    {
      filesystem: fs.statfsSync ? `type 0x${fs.statfsSync(work).type.toString(16)}` : 'unknown',
    },
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
