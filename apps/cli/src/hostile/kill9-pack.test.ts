import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  describeReport,
  entriesBelow,
  KILL_RUNS,
  killAtRandomMoments,
  killAtRename,
  runAlki,
  treeDigest,
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

// The one moment random kills almost never hit: between the two renames of a
// replacing pack. strace kills the CLI as it enters its second rename(2) on
// the main thread (pack's only main-thread renames are that pair: the old
// bundle aside, then the new one in), so the moment is exact, every run.
describe('alki pack --force killed between its two renames', () => {
  it('leaves the old bundle whole under its retired name, and the next pack puts it back', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'between-'));
    const tmp = fs.mkdtempSync(path.join(work, 'between-tmp-'));
    const out = path.join(dir, 'bundle');
    const pack = ['pack', '--demo', '--quantize', 'Q8_0', '--out', out];
    expect((await runAlki([...pack, '--name', 'alki-demo-old'], tmp)).code).toBe(0);
    const oldDigest = treeDigest(out);

    killAtRename([...pack, '--force'], tmp, { when: 2 });
    const retired = fs.readdirSync(dir).filter((name) => name.startsWith('.bundle.alki-old-'));
    expect({
      destination: treeDigest(out),
      retired: retired.map((name) => treeDigest(path.join(dir, name)) === oldDigest),
    }).toEqual({ destination: 'absent', retired: [true] });

    // A pack without --force refuses (exit 2, the destination exists), after renaming the old bundle back and sweeping the rest.
    const next = await runAlki(pack, tmp);
    expect({
      code: next.code,
      digest: treeDigest(out) === oldDigest,
      left: entriesBelow(dir, ['bundle']),
    }).toEqual({
      code: 2,
      digest: true,
      left: [],
    });
  }, 300_000);
});
