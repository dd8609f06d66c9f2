import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageBuilderError } from '../errors.js';
import { writeDockerArchive } from '../image/export.js';
import { runProgram, type RunProgram } from '../base/shared-libraries.js';
import { ALKI_IMAGE_LABEL } from '../base/air-gapped-base.js';
import type { ListedImage } from '../store.js';

export type ContainerEngineName = 'podman' | 'docker';

/** A container engine CLI: which one, and how to run it (with the environment it needs). */
export interface ContainerEngine {
  name: ContainerEngineName;
  run: RunProgram;
}

/**
 * Finds a working container engine: podman first (daemonless, and what
 * Alki tests with), then docker. "Working" means `info` succeeds: a docker
 * client with no daemon behind it does not count.
 */
export function detectEngine(run: RunProgram = runProgram, prefer?: ContainerEngineName): ContainerEngine {
  const order: ContainerEngineName[] = prefer ? [prefer] : ['podman', 'docker'];
  const problems: string[] = [];
  for (const name of order) {
    const result = run(name, ['info', '--format', '{{json .}}']);
    if (!result.error && result.status === 0) return { name, run };
    problems.push(`${name}: ${result.error ? 'not installed' : result.stderr.trim().split('\n').pop()}`);
  }
  throw new ImageBuilderError(
    'TOOL_FAILED',
    `No working container engine was found (${problems.join('; ')}).`,
    {
      hint: 'Install podman (Debian: apt-get install podman runc), or start the Docker daemon.',
      details: { tried: order },
    },
  );
}

/** Runs an engine command and throws TOOL_FAILED with its stderr when it fails. */
export function engineCommand(engine: ContainerEngine, args: string[]): string {
  const result = engine.run(engine.name, args);
  if (result.error || result.status !== 0) {
    throw new ImageBuilderError(
      'TOOL_FAILED',
      `${engine.name} ${args[0]} failed: ${(result.error?.message ?? result.stderr).trim().split('\n').slice(-3).join(' ')}`,
      {
        details: { command: [engine.name, ...args] },
      },
    );
  }
  return result.stdout;
}

// A field of an engine's JSON listing as text; a missing or non-scalar field is empty.
function fieldText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** Images in the engine that carry Alki's label. */
export function listEngineImages(engine: ContainerEngine): ListedImage[] {
  const out = engineCommand(engine, [
    'images',
    '--filter',
    `label=${ALKI_IMAGE_LABEL}`,
    '--format',
    '{{json .}}',
  ]);
  const rows: Array<Record<string, unknown>> = [];
  const text = out.trim();
  if (!text) return [];
  // podman prints one JSON array, docker one object per line.
  if (text.startsWith('[')) rows.push(...(JSON.parse(text) as Array<Record<string, unknown>>));
  else for (const line of text.split('\n')) rows.push(JSON.parse(line) as Record<string, unknown>);
  return rows.map((row) => {
    const labels = (row.Labels ?? {}) as Record<string, string>;
    const names = (row.Names as string[] | undefined) ?? [
      `${fieldText(row.Repository)}:${fieldText(row.Tag)}`,
    ];
    return {
      where: engine.name,
      name: names[0] ?? fieldText(row.Id ?? row.ID),
      digest: fieldText(row.Digest ?? row.ID ?? row.Id),
      size: typeof row.Size === 'number' ? row.Size : Number(row.Size) || 0,
      created: typeof row.CreatedAt === 'string' ? row.CreatedAt : undefined,
      kind: labels[ALKI_IMAGE_LABEL],
      labels,
    };
  });
}

/**
 * Loads an image of the store into the engine through a docker-archive (a
 * temp file, removed afterwards) and returns the name to run it by. The
 * archive works for podman and docker alike, where `oci:` paths do not.
 */
export async function loadIntoEngine(
  engine: ContainerEngine,
  storeDir: string,
  tag: string,
  signal?: AbortSignal,
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-load-'));
  try {
    const archive = path.join(dir, 'image.tar');
    await writeDockerArchive(storeDir, tag, archive, { signal });
    engineCommand(engine, ['load', '-i', archive]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // podman files unqualified names under localhost/; docker keeps them as given.
  const qualified =
    tag.split('/')[0].includes('.') || tag.split('/')[0].includes(':') || tag.startsWith('localhost/');
  return engine.name === 'podman' && !qualified ? `localhost/${tag}` : tag;
}
