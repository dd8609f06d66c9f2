import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What podman's quadlet generator made of a `.container` file. */
export interface QuadletGeneration {
  /** The generator's exit status: 0 when it converted the file. */
  status: number | null;
  /** The systemd unit it wrote (`<name>.service`), empty when it refused the file. */
  unit: string;
  /** Its log: the reason it refused a file, such as an unsupported key. */
  stderr: string;
}

/** The quadlet generator that tools/setup/quadlet.sh fetched, newest version first. */
export function quadletGeneratorPath(env: NodeJS.ProcessEnv = process.env): string {
  const cache = path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'alki', 'quadlet');
  const versions = fs.existsSync(cache) ? fs.readdirSync(cache).sort().reverse() : [];
  for (const version of versions) {
    const file = path.join(cache, version, 'quadlet');
    if (fs.existsSync(file)) return file;
  }
  throw new Error(
    `podman's quadlet generator is not in ${cache}, and the quadlet tests need it. Run \`bash tools/setup/quadlet.sh\`, or \`npm test\`, which does it for you.`,
  );
}

/**
 * Runs podman's own quadlet generator (`quadlet -dryrun`) on one `.container`
 * file, as systemd would at boot, and returns the service unit it generates.
 */
export function generateQuadletUnit(name: string, containerText: string): QuadletGeneration {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-quadlet-'));
  try {
    fs.writeFileSync(path.join(dir, `${name}.container`), containerText);
    const result = spawnSync(quadletGeneratorPath(), ['-dryrun'], {
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
