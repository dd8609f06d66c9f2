// A child process for the kill tests: packs argv[2] into argv[3] (with
// --force), says "copying" at the first copied chunk, then freezes there so
// the parent can SIGKILL it mid-copy at a known point.
import { pack } from '../index.js';

const [source, out] = process.argv.slice(2);
let frozen = false;
await pack({
  source,
  out,
  force: true,
  // Stream copying reports progress while bytes are still being copied.
  copyStrategy: 'stream',
  sourceDateEpoch: 2,
  onProgress: (event) => {
    if (event.phase !== 'copy' || frozen) return;
    frozen = true;
    process.stdout.write('copying\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  },
});
process.stdout.write('finished\n');
