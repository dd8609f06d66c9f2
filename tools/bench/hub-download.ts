// Downloading a large file from the hub into the cache: @alki/hub's
// downloadFile (stream to blobs/<sha256>.incomplete, hashing while it writes,
// then link the snapshot) against `curl -o` followed by `sha256sum`, the same
// work done by the reference tools. The fake hub runs in its own process so
// the two sides share the CPU the same way.
//
//   npm run build && npx tsx tools/bench/hub-download.ts [MiB, default 256]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { downloadFile } from '@alki/hub';
import { startFakeHub } from '@alki/testkit';
import { measure, report, runCommand } from './harness.js';

const REPO = 'bench/large-GGUF';
const FILE = 'model-Q8_0.gguf';

if (process.argv[2] === 'serve') {
  const hub = await startFakeHub({ repos: [{ id: REPO, dir: process.argv[3] }] });
  console.log(hub.url);
} else {
  const mib = Number(process.argv[2] ?? 256);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-hub-'));
  const source = path.join(work, 'source');
  fs.mkdirSync(source);
  // Pseudo-random bytes, so nothing on the way can compress them.
  const out = fs.openSync(path.join(source, FILE), 'w');
  let block = createHash('sha512').update('seed').digest();
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) {
    for (let o = 0; o < chunk.length; o += block.length) {
      block = createHash('sha512').update(block).digest();
      block.copy(chunk, o);
    }
    fs.writeSync(out, chunk);
  }
  fs.closeSync(out);

  const server = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'serve', source],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: server.stdout }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`the fake hub exited with ${code}`)));
    });
    const cacheDir = path.join(work, 'cache');
    const curlOut = path.join(work, 'curl.out');
    const commit = await downloadFile(REPO, FILE, { endpoint: url, cacheDir, env: {} }).then((f) => f.commit);
    const rows = [
      await measure(
        'curl -o + sha256sum',
        () => {
          fs.rmSync(curlOut, { force: true });
          runCommand('bash', [
            '-c',
            `curl -sSf -o '${curlOut}' '${url}/${REPO}/resolve/${commit}/${FILE}' && sha256sum '${curlOut}'`,
          ]);
        },
        { runs: 3 },
      ),
      await measure(
        'alki downloadFile',
        async () => {
          fs.rmSync(cacheDir, { recursive: true, force: true });
          await downloadFile(REPO, FILE, { endpoint: url, cacheDir, env: {}, revision: commit });
        },
        { runs: 3 },
      ),
    ];
    report(
      `Download ${mib} MiB from the fake hub into the cache, with sha256 check`,
      rows,
      'curl -o + sha256sum',
    );
  } finally {
    server.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
