import { ownerAfterPrefix, removeDeadProcessLeftovers } from '@alki/gguf-reader';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packFrom, type PackOptions, type PackResult } from '../pack/pack.js';
import { packCheckpointFolder } from '../pack/source-checkpoint.js';
import { writeDemoCheckpoint } from './demo-checkpoint.js';

/** The demo bundle's name, and its default directory `dist/alki-demo`. */
export const DEMO_NAME = 'alki-demo';
/** Bumped whenever the generated checkpoint changes, so bundles say which demo they hold. */
export const DEMO_REVISION = 'demo-v2';
/** The demo's source date: fixed, since the checkpoint is generated from a fixed seed. */
const DEMO_TIME = new Date('2025-01-01T00:00:00Z');

// The generated checkpoint lives in the system temp dir, in a directory named
// for the process: a pack killed before its cleanup ran leaves it there, and
// the next demo pack removes it once that process is gone.
const CHECKPOINT_PREFIX = 'alki-demo-checkpoint-';

/**
 * Removes the demo checkpoint directories (`alki-demo-checkpoint-<pid>-*`) of
 * dead processes from `tmp`; a running pack's stays. Returns the names removed.
 */
export function removeDeadDemoCheckpoints(tmp: string = os.tmpdir()): Promise<string[]> {
  return removeDeadProcessLeftovers(tmp, ownerAfterPrefix(CHECKPOINT_PREFIX));
}

export type PackDemoOptions = Omit<PackOptions, 'source' | 'filename' | 'revision' | 'token' | 'hubUrl'>;

/**
 * Packs the built-in demo: a tiny llama checkpoint generated locally from a
 * fixed seed (offline), converted to GGUF, quantized to Q4_K_M and Q8_0 (or
 * `quantize`), and packed. The same Alki version always makes the same bundle.
 *
 * @example
 * const result = await packDemo({ out: './dist/alki-demo' });
 * console.log(result.manifest.artifacts.map((a) => a.uri));
 */
export async function packDemo(options: PackDemoOptions = {}): Promise<PackResult> {
  await removeDeadDemoCheckpoints();
  const parent = await mkdtemp(path.join(os.tmpdir(), `${CHECKPOINT_PREFIX}${process.pid}-`));
  // The converter names the model after its folder (general.basename), so the
  // folder gets a fixed name for the GGUF bytes to be the same every time.
  const checkpoint = path.join(parent, DEMO_NAME);
  try {
    await mkdir(checkpoint);
    await writeDemoCheckpoint(checkpoint);
    return await packFrom({ ...options, source: DEMO_NAME, name: options.name ?? DEMO_NAME }, (context) =>
      packCheckpointFolder(checkpoint, context, {
        kind: 'demo',
        repo: DEMO_NAME,
        revision: DEMO_REVISION,
        time: DEMO_TIME,
        modelName: DEMO_NAME,
        license: 'cc0-1.0',
        defaultQuants: ['Q4_K_M', 'Q8_0'],
      }),
    );
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
