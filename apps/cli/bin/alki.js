#!/usr/bin/env node
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
