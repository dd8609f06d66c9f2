import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachedToolPath } from './cached-tool.js';

/** What podman's quadlet generator made of a `.container` file. */
export interface QuadletGeneration {
  /** The generator's exit status: 0 when it converted the file. */
  status: number | null;
  /** The systemd unit it wrote (`<name>.service`), empty when it refused the file. */
  unit: string;
  /** Its log: the reason it refused a file, such as an unsupported key. */
  stderr: string;
}

/**
 * Runs podman's own quadlet generator (`quadlet -dryrun`) on one `.container`
 * file, as systemd would at boot, and returns the service unit it generates.
 */
export function generateQuadletUnit(name: string, containerText: string): QuadletGeneration {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-quadlet-'));
  try {
    fs.writeFileSync(path.join(dir, `${name}.container`), containerText);
    const result = spawnSync(cachedToolPath('quadlet'), ['-dryrun'], {
      encoding: 'utf8',
      env: { ...process.env, QUADLET_UNIT_DIRS: dir },
    });
    const marker = `---${name}.service---\n`;
    const start = result.stdout.indexOf(marker);
    return {
      status: result.status,
      unit: start < 0 ? '' : result.stdout.slice(start + marker.length),
      stderr: result.stderr,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
