import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  describeReport,
  KILL_RUNS,
  killAtRandomMoments,
  type Outcome,
} from './__fixtures__/kill9-harness.js';

// Issue #21: `alki pack --demo` killed with SIGKILL at KILL_RUNS random
// moments. The demo covers the whole pipeline (a checkpoint generated in the
// system temp dir, conversion and quantization in a scratch directory beside
// the bundle, the staged bundle validated by loading its model, the rename);
// one quant keeps a run to a few seconds.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-kill9-pack-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function packPhase({ out, tmp }: { out: string[]; tmp: string[] }, outcome: Outcome): string {
  if (outcome === 'new') return 'after the rename';
  if (outcome === 'retired') return 'between the two renames';
  const staging = out.filter((entry) => entry.startsWith('.alki-demo.alki-tmp-'));
  if (staging.some((entry) => entry.endsWith('/manifest.json'))) return 'validate the staged bundle';
  if (staging.length > 0) return 'write the staged bundle';
  const scratch = out.filter((entry) => entry.startsWith('.alki-pack-tmp-'));
  if (scratch.some((entry) => entry.includes('/.q8_0.gguf.'))) return 'quantize';
  if (scratch.some((entry) => entry.endsWith('/q8_0.gguf'))) return 'inspect the quantized model';
  if (scratch.length > 0) return 'convert';
  if (tmp.length > 0) return 'generate the checkpoint';
  return 'start';
}

describe('alki pack --demo killed with SIGKILL', () => {
  it(`leaves no bundle or the whole old one, and only leftovers the next pack removes, at ${KILL_RUNS} random moments`, async () => {
    const report = await killAtRandomMoments({
      work,
      name: 'alki-demo',
      args: (out, replace) => [
        'pack',
        '--demo',
        '--quantize',
        'Q8_0',
        '--out',
        out,
        ...(replace ? ['--force'] : []),
      ],
      oldArgs: (out) => ['pack', '--demo', '--quantize', 'Q8_0', '--name', 'alki-demo-old', '--out', out],
      phaseOf: packPhase,
    });
    console.log(describeReport('alki pack --demo', report));
    expect(report.kills).toBeGreaterThanOrEqual(KILL_RUNS);
  }, 900_000);
});
