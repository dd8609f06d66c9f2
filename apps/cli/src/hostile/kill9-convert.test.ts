import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateCheckpoint } from '@alki/testkit';
import {
  describeReport,
  KILL_RUNS,
  killAtRandomMoments,
  type Outcome,
} from './__fixtures__/kill9-harness.js';

// Issue #21: `alki convert --outtype q4_k_m` killed with SIGKILL at KILL_RUNS
// random moments: the path with the most files in flight (the F16
// intermediate in a temp directory beside the output, its writer's temp file,
// then the quantized output's temp file), on a small checkpoint (a few seconds a run).
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-kill9-convert-'));
let checkpoint: string;
beforeAll(async () => {
  checkpoint = await generateCheckpoint({ family: 'mistral', hiddenSize: 512, layers: 8 });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function convertPhase({ out }: { out: string[] }, outcome: Outcome): string {
  if (outcome === 'new') return 'after the rename';
  const intermediate = out.filter((entry) => entry.endsWith('/f16.gguf'));
  if (intermediate.length > 0)
    return out.filter((entry) => !entry.includes('/')).length > 1
      ? 'quantize'
      : 'between convert and quantize';
  if (out.some((entry) => entry.includes('/.f16.gguf.'))) return 'convert to F16';
  if (out.length > 0) return 'read the checkpoint';
  return 'start';
}

describe('alki convert --outtype q4_k_m killed with SIGKILL', () => {
  it(`leaves no GGUF or the whole old one, and only leftovers the next convert removes, at ${KILL_RUNS} random moments`, async () => {
    const report = await killAtRandomMoments({
      work,
      name: 'model.gguf',
      args: (out, replace) => [
        'convert',
        checkpoint,
        '--outtype',
        'q4_k_m',
        '-o',
        out,
        ...(replace ? ['--force'] : []),
      ],
      oldArgs: (out) => ['convert', checkpoint, '--outtype', 'q4_k_m', '--name', 'alki-old', '-o', out],
      phaseOf: convertPhase,
    });
    console.log(describeReport('alki convert --outtype q4_k_m', report));
    expect(report.kills).toBeGreaterThanOrEqual(KILL_RUNS);
  }, 900_000);
});
