#!/usr/bin/env node
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
  // Catch SIGINT and SIGTERM before anything loads: loading the CLI takes
  // seconds on a small board, and an unhandled SIGTERM kills Node with 143
  // instead of the exit codes docs/cli.md gives. main() takes them over.
  const pendingSignals = [];
  const remember = (signal) => pendingSignals.push(signal);
  process.on('SIGINT', remember);
  process.on('SIGTERM', remember);
  const { main } = await import('../dist/main.js');
  // main() installs its own handlers before its first await, so no signal falls between the two.
  const running = main(process.argv.slice(2), { pendingSignals });
  process.off('SIGINT', remember);
  process.off('SIGTERM', remember);
  process.exitCode = await running;
}
