import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { cachedTinyLlamaGguf } from '@alki/testkit';

// Issue #21 item 3: every command that takes a path refuses a special file
// with exit 3 and one clear line, at once, under a small heap: never a hang,
// never a stack trace. Runs the built CLI (bin/alki.js) as a real process.
const ALKI = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));
const TIME_LIMIT_MS = 30_000;
const HEAP_MB = 128;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const CLI_ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' };
delete CLI_ENV.FORCE_COLOR;

function alki(args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, ALKI, ...args, '--quiet'],
      {
        timeout: TIME_LIMIT_MS,
        killSignal: 'SIGKILL',
        // The CLI as a user runs it: not with Jest's NODE_OPTIONS, nor nx's FORCE_COLOR (beside NO_COLOR it makes
        // Node warn), either of which would put a warning on the first line.
        env: CLI_ENV,
      },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        resolve({
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
          ms: performance.now() - started,
        });
      },
    );
  });
}

/** Exit 3, one `error:` line (hints may follow it), no stack, well within the limit. */
function expectCleanRefusal(run: Run): void {
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
  expect({ code: run.code, signal: run.signal, first: lines[0]?.slice(0, 7) }).toEqual({
    code: 3,
    signal: null,
    first: 'error: ',
  });
  expect(lines.slice(1).filter((line) => !line.startsWith('hint: '))).toEqual([]);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.ms).toBeLessThan(TIME_LIMIT_MS);
}

let dir: string;
let server: net.Server;
let source: string;
let good: string;
let goodFiles: string[];
let bundle: string;
let model: string;
const kinds: Record<string, string> = {};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hostile-'));
  kinds.fifo = path.join(dir, 'fifo.gguf');
  execFileSync('mkfifo', [kinds.fifo]);
  kinds.socket = path.join(dir, 'socket.gguf');
  server = net.createServer();
  await new Promise<void>((resolve) => server.listen(kinds.socket, resolve));
  kinds.device = '/dev/null';
  kinds.directory = path.join(dir, 'directory.gguf');
  fs.mkdirSync(kinds.directory);
  kinds.dangling = path.join(dir, 'dangling.gguf');
  fs.symlinkSync(path.join(dir, 'nowhere.gguf'), kinds.dangling);
  kinds.loop = path.join(dir, 'loop.gguf');
  fs.symlinkSync(kinds.loop, kinds.loop);

  // A real bundle, and a copy of it whose model file is then swapped for a FIFO.
  good = path.join(dir, 'good');
  bundle = path.join(dir, 'bundle');
  source = (await cachedTinyLlamaGguf()).path;
  await pack({ source, out: good, name: 'hostile', quantize: ['Q8_0'] });
  goodFiles = fs.readdirSync(good, { recursive: true, encoding: 'utf8' }).sort();
  fs.cpSync(good, bundle, { recursive: true });
  const models = path.join(bundle, 'models');
  const names = fs.readdirSync(models).filter((n) => n.endsWith('.gguf'));
  expect(names).toHaveLength(1);
  model = names[0];
  fs.rmSync(path.join(models, model));
  execFileSync('mkfifo', [path.join(models, model)]);
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

const COMMANDS: Record<string, (target: string) => string[]> = {
  inspect: (t) => ['inspect', t],
  validate: (t) => ['validate', t],
  verify: (t) => ['verify', t],
  'publish --local': (t) => ['publish', '--local', path.join(dir, 'layout'), t],
  convert: (t) => ['convert', t, '-o', path.join(dir, 'converted.gguf')],
  quantize: (t) => ['quantize', t, path.join(dir, 'quantized.gguf'), 'Q8_0'],
  pack: (t) => ['pack', t, '--out', path.join(dir, 'packed')],
  serve: (t) => ['serve', t, '--port', '0', '--host', '127.0.0.1'],
};

describe('special files given to a command that takes a path', () => {
  const cases = Object.keys(COMMANDS).flatMap((command) =>
    ['fifo', 'socket', 'device', 'directory', 'dangling', 'loop'].map((kind) => [command, kind] as const),
  );
  it.each(cases)(
    '%s refuses a %s with exit 3 and one line',
    async (command, kind) => {
      const run = await alki(COMMANDS[command](kinds[kind]));
      expectCleanRefusal(run);
      // Nothing was written for a refused input.
      for (const out of ['converted.gguf', 'quantized.gguf', 'packed', 'layout'])
        expect(fs.existsSync(path.join(dir, out))).toBe(false);
    },
    TIME_LIMIT_MS + 5_000,
  );
});

describe('a bundle whose model is a FIFO', () => {
  it.each(['inspect', 'serve'])(
    '%s refuses it with exit 3 and one line',
    async (command) => {
      expectCleanRefusal(await alki(COMMANDS[command](bundle)));
    },
    TIME_LIMIT_MS + 5_000,
  );

  // Checking a bundle is a check that fails (exit 1, docs/cli.md): its hash
  // check names the model, which is never opened.
  it.each(['validate', 'verify'])(
    '%s fails its check on it with exit 1, at once',
    async (command) => {
      const run = await alki(COMMANDS[command](bundle));
      expect({ code: run.code, signal: run.signal }).toEqual({ code: 1, signal: null });
      expect(run.stdout + run.stderr).toContain(model);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.ms).toBeLessThan(TIME_LIMIT_MS);
    },
    TIME_LIMIT_MS + 5_000,
  );
});

// Files named by a flag rather than the target: opened by the command, or by a library or a
// native tool it calls, each of which would block on a FIFO without a writer.
const FLAGS: Record<string, (file: string) => string[]> = {
  'pack --imatrix': (f) => ['pack', source, '--imatrix', f, '--out', path.join(dir, 'packed')],
  'pack --profile': (f) => ['pack', source, '--profile', f, '--out', path.join(dir, 'packed')],
  'quantize --imatrix': (f) => ['quantize', source, path.join(dir, 'quantized.gguf'), 'Q8_0', '--imatrix', f],
  'imatrix --text': (f) => ['imatrix', source, '--text', f, '-o', path.join(dir, 'imatrix.gguf')],
  'calibrate --text': (f) => ['calibrate', source, '--text', f],
  'serve --tls-cert': (f) => ['serve', source, '--port', '0', '--tls-cert', f, '--tls-key', source],
  'serve --tls-key': (f) => ['serve', source, '--port', '0', '--tls-cert', source, '--tls-key', f],
  'serve --api-key-file': (f) => ['serve', source, '--port', '0', '--api-key-file', f],
  'serve --mmproj': (f) => ['serve', source, '--port', '0', '--mmproj', f],
  'sign --key': (f) => ['sign', good, '--key', f],
  'verify --key': (f) => ['verify', good, '--key', f],
  'verify --policy': (f) => ['verify', good, '--policy', f],
  'verify --trusted-root': (f) => [
    'verify',
    good,
    '--trusted-root',
    f,
    '--certificate-identity',
    'ci@example.com',
    '--certificate-oidc-issuer',
    'https://issuer.example.com',
  ],
};

describe('special files given to a flag that names a file', () => {
  // Every flag with a FIFO; the other kinds through one of them (the same check refuses them all).
  const cases = [
    ...Object.keys(FLAGS).map((flag) => [flag, 'fifo'] as const),
    ...['socket', 'device', 'directory', 'loop'].map((kind) => ['serve --tls-key', kind] as const),
  ];
  it.each(cases)(
    '%s refuses a %s with exit 3 and one line naming the flag',
    async (flag, kind) => {
      const run = await alki(FLAGS[flag](kinds[kind]));
      expectCleanRefusal(run);
      const first = run.stderr.split('\n')[0];
      expect(first.startsWith(`error: ${flag.split(' ')[1]}: `)).toBe(true);
      expect(first).toContain(kinds[kind]);
      if (kind === 'fifo') expect(first).toContain('is a named pipe (FIFO), not a regular file.');
      for (const out of ['packed', 'quantized.gguf', 'imatrix.gguf', 'imatrix.gguf.partial'])
        expect(fs.existsSync(path.join(dir, out))).toBe(false);
      // sign wrote no signature into the bundle.
      expect(fs.readdirSync(good, { recursive: true, encoding: 'utf8' }).sort()).toEqual(goodFiles);
    },
    TIME_LIMIT_MS + 5_000,
  );
});
