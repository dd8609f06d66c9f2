import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateCheckpoint } from '@alki/testkit';
import {
  describeReport,
  KILL_RUNS,
  killAtRandomMoments,
  runAlki,
  type Outcome,
} from './__fixtures__/kill9-harness.js';

// Issue #21: `alki quantize F16 OUT Q4_K_M` killed with SIGKILL at KILL_RUNS
// random moments, on a small F16 GGUF (a few seconds a run).
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-kill9-quantize-'));
const input = path.join(work, 'model-f16.gguf');
beforeAll(async () => {
  const checkpoint = await generateCheckpoint({ family: 'mistral', hiddenSize: 256, layers: 4 });
  const converted = await runAlki(['convert', checkpoint, '-o', input, '--quiet'], os.tmpdir());
  expect(converted.code).toBe(0);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function quantizePhase({ out }: { out: string[] }, outcome: Outcome): string {
  if (outcome === 'new') return 'after the rename';
  return out.length > 0 ? 'quantize' : 'start';
}

describe('alki quantize killed with SIGKILL', () => {
  it(`leaves no GGUF or the whole old one, and only leftovers the next quantize removes, at ${KILL_RUNS} random moments`, async () => {
    const report = await killAtRandomMoments({
      work,
      name: 'model-q4_k_m.gguf',
      args: (out, replace) => ['quantize', input, out, 'Q4_K_M', ...(replace ? ['--force'] : [])],
      oldArgs: (out) => ['quantize', input, out, 'Q8_0'],
      phaseOf: quantizePhase,
    });
    console.log(describeReport('alki quantize Q4_K_M', report));
    expect(report.kills).toBeGreaterThanOrEqual(KILL_RUNS);
  }, 900_000);
});
