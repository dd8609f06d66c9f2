// Planning a fleet rollout (issue 17): `alki fleet plan` on generated fleets of
// 100, 500 and 5000 devices (the fleet fixtures' groups of 50, two hardware
// classes, five sites, three rings), a canary plan each, through the CLI as a user
// runs it. The reference is `kubectl kustomize` building every overlay of the
// tree the plan wrote: what a GitOps controller does with the plan. Both include
// their process start. Rows are interleaved per run; medians and the ratio are
// printed per fleet size, with the files and bytes the plan wrote.
//
//   npm run build && npx tsx tools/bench/fleet-plan.ts [runs, default 5]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { largeFleet } from '@alki/testkit';
import { median, report, runCommand, type Measurement } from './harness.js';

const runs = Number(process.argv[2] ?? 5);
const SIZES = [100, 500, 5000];
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const BUNDLE = `registry.local/models/qwen3@${digest('b')}`;
const RUNTIME = `registry.local/alki/runtime@${digest('c')}`;
const bin = fileURLToPath(new URL('../../apps/cli/bin/alki.js', import.meta.url));
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
if (!kubectl) throw new Error('kubectl (with kustomize) is needed as the reference tool');

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-fleet-'));
try {
  console.log(`${runs} runs per size, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
  for (const size of SIZES) {
    const fleet = path.join(work, `fleet-${size}.yaml`);
    fs.writeFileSync(fleet, largeFleet(size, RUNTIME));
    const out = path.join(work, `gitops-${size}`);
    const plan = () =>
      runCommand(process.execPath, [
        bin,
        'fleet',
        'plan',
        fleet,
        '--bundle',
        BUNDLE,
        '--strategy',
        'canary',
        '-o',
        out,
        '--force',
      ]);
    plan();
    // Every kustomization the plan wrote but the shared base: one per group.
    const overlays = filesUnder(out)
      .filter((file) => path.basename(file) === 'kustomization.yaml')
      .map((file) => path.dirname(file))
      .filter((dir) => path.basename(dir) !== 'base');
    const kustomize = () => {
      for (const overlay of overlays) runCommand(kubectl, ['kustomize', overlay]);
    };
    const planMs: number[] = [];
    const kustomizeMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      planMs.push(timed(plan));
      kustomizeMs.push(timed(kustomize));
    }
    const files = filesUnder(out);
    const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
    const rows: Measurement[] = [
      {
        label: `kubectl kustomize (${overlays.length} overlays)`,
        samplesMs: kustomizeMs,
        medianMs: median(kustomizeMs),
      },
      { label: 'alki fleet plan', samplesMs: planMs, medianMs: median(planMs) },
    ];
    report(`${size} devices, canary plan`, rows, rows[0].label, {
      'plan wrote': `${files.length} files, ${(bytes / 1024).toFixed(0)} KiB`,
    });
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
