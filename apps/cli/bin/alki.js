#!/usr/bin/env node
import { readFileSync } from 'node:fs';
// `alki --version` answers before anything else loads: importing the CLI's
// argument parser alone costs more than Node's own start
// (tools/bench/cli-startup.ts). Its output is yargs' own: the version and a newline.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { CLI_VERSION } = await import('../dist/version.js');
  process.stdout.write(`${CLI_VERSION}\n`);
} else {
  await run();
}

async function run() {
  const refused = nonUtf8Argument(process.argv.length - 2);
  if (refused) {
    const message = `argument ${refused.index} is not valid UTF-8 (bytes ${refused.hex}); Alki takes names and paths as UTF-8 text, so it would read or write another name.`;
    process.stderr.write(`error: ${message}\nhint: Rename the file to a UTF-8 name.\n`);
    if (process.argv.includes('--json'))
      process.stdout.write(
        `${JSON.stringify({ error: { code: 'USAGE', category: 'usage', message } }, null, 2)}\n`,
      );
    process.exitCode = 2;
    return;
  }
  // Catch SIGINT and SIGTERM before anything loads: loading the CLI takes
  // seconds on a small board, and an unhandled SIGTERM kills Node with 143
  // instead of the exit codes docs/cli.md gives. main() takes them over.
  const pendingSignals = [];
  const remember = (signal) => pendingSignals.push(signal);
  process.on('SIGINT', remember);
  process.on('SIGTERM', remember);
  const { main } = await import('../dist/main.js');
  // main() installs its own handlers before its first await, so no signal falls between the two.
  const running = main(process.argv.slice(2), { pendingSignals, ownProcess: true });
  process.off('SIGINT', remember);
  process.off('SIGTERM', remember);
  process.exitCode = await running;
}

// Node decodes each argument as UTF-8 and replaces invalid bytes, so `out-\xff.gguf` would arrive
// as another name: read the raw arguments (Linux: /proc/self/cmdline, NUL-separated, the
// user's arguments last) and name the first one that is not UTF-8. Elsewhere nothing is checked.
function nonUtf8Argument(count) {
  let raw;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    return undefined;
  }
  const parts = [];
  for (let start = 0, i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    parts.push(raw.subarray(start, i));
    start = i + 1;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const args = count > 0 ? parts.slice(-count) : [];
  for (const [i, arg] of args.entries()) {
    try {
      decoder.decode(arg);
    } catch {
      return { index: i + 1, hex: Buffer.from(arg).toString('hex') };
    }
  }
  return undefined;
}
