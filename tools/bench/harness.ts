// Shared timing helpers for the benchmarks in this folder. Each benchmark
// measures Alki and its reference tool in the same run, several times, and
// prints medians and the ratio: this machine is noisy, so only ratios count.
import { spawnSync } from 'node:child_process';

export interface Measurement {
  label: string;
  samplesMs: number[];
  medianMs: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `fn` `runs` times (after `warmup` unmeasured runs) and returns the median wall time. */
export async function measure(
  label: string,
  fn: () => unknown,
  { runs = 5, warmup = 1 } = {},
): Promise<Measurement> {
  for (let i = 0; i < warmup; i++) await fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samplesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { label, samplesMs, medianMs: median(samplesMs) };
}

/** Runs a command to completion, failing loudly if it fails; for reference tools. */
export function runCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): void {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: options.env ?? process.env,
  });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}): ${result.stderr?.toString().slice(-2000)}`,
    );
}

/**
 * Prints a table of medians, with each row's ratio to `reference` (the row
 * whose label equals it): ratio < 1 means faster than the reference.
 */
export function report(
  title: string,
  rows: Measurement[],
  reference: string,
  extra: Record<string, string | number> = {},
): void {
  const base = rows.find((r) => r.label === reference);
  if (!base) throw new Error(`no reference row ${reference}`);
  console.log(`\n${title}`);
  for (const row of rows) {
    const ratio = row.medianMs / base.medianMs;
    console.log(
      `  ${row.label.padEnd(32)} median ${row.medianMs.toFixed(1).padStart(10)} ms   ratio ${ratio.toFixed(3)}   (${row.samplesMs.length} runs: ${row.samplesMs.map((s) => s.toFixed(0)).join(', ')})`,
    );
  }
  for (const [key, value] of Object.entries(extra)) console.log(`  ${key}: ${value}`);
}
