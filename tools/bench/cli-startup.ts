// How long `alki --version` and `alki --help` take to start and exit, against
// `node -e 0`, the floor every Node program pays. Command handlers load lazily
// (apps/cli/src/commands/index.ts), so neither loads any @alki library, and
// bin/alki.js answers `--version` alone before the argument parser loads. The
// goal (issue #13) is `--version` under 150 ms; `--help` is reported beside it,
// and pays for yargs (about 110 ms of CPU to import) and for rendering; `calibrate --list-devices` is a
// command whose handler runs (yargs, the command's module, a table). Rows are interleaved, one of each per round, so a
// swing in the machine's load hits every row alike; round 0 only warms the
// file cache. On a loaded machine wall times mostly measure the queue for a
// core, so each process also reports the CPU time it used (user + system, from
// an exit hook every row carries alike), which stays near its idle wall time.
//
//   npm run build && npx tsx tools/bench/cli-startup.ts [runs, default 15]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, report, type Measurement } from './harness.js';

const runs = Number(process.argv[2] ?? 15);
const GOAL_MS = 150;
const bin = fileURLToPath(new URL('../../apps/cli/bin/alki.js', import.meta.url));
const cases: Array<[label: string, args: string[]]> = [
  ['node -e 0', ['-e', '0']],
  ['alki --version', [bin, '--version']],
  ['alki --help', [bin, '--help']],
  // A command that runs its handler and does little: yargs' start, one command module, a table.
  ['alki calibrate --list-devices', [bin, 'calibrate', '--list-devices']],
];

// Writes the process's CPU time to stderr as it exits (a pipe: written synchronously on Linux).
const CPU_HOOK =
  'data:text/javascript,process.on("exit",()=>{const u=process.cpuUsage();process.stderr.write(`\\ncpu ${(u.user+u.system)/1000}\\n`)})';

const wall = new Map<string, number[]>(cases.map(([label]) => [label, []]));
const cpu = new Map<string, number[]>(cases.map(([label]) => [label, []]));
for (let round = 0; round <= runs; round++) {
  for (const [label, args] of cases) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, ['--import', CPU_HOOK, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const stderr = result.stderr.toString();
    const cpuMs = Number(/\ncpu ([\d.]+)\n/.exec(stderr)?.[1]);
    if (result.status !== 0 || !Number.isFinite(cpuMs))
      throw new Error(`${label} failed: ${stderr.slice(-2000)}`);
    if (round === 0) continue;
    wall.get(label)!.push(ms);
    cpu.get(label)!.push(cpuMs);
  }
}

const rowsOf = (samples: Map<string, number[]>): Measurement[] =>
  cases.map(([label]) => ({ label, samplesMs: samples.get(label)!, medianMs: median(samples.get(label)!) }));
const goal = (rows: Measurement[]) =>
  Object.fromEntries(
    rows
      .slice(1)
      .map((row) => [
        row.label,
        `${(row.medianMs - rows[0].medianMs).toFixed(1)} ms above the floor` +
          (row.label === 'alki --version'
            ? `; ${row.medianMs < GOAL_MS ? 'under' : 'OVER'} the ${GOAL_MS} ms goal`
            : ''),
      ]),
  );
const where = `${runs} interleaved runs each, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`;
const wallRows = rowsOf(wall);
const cpuRows = rowsOf(cpu);
report(`CLI start-up, wall time (${where})`, wallRows, 'node -e 0', goal(wallRows));
report(`CLI start-up, CPU time (user + system)`, cpuRows, 'node -e 0', goal(cpuRows));
