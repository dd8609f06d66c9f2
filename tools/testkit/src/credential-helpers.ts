import fs from 'node:fs';
import path from 'node:path';

/** Where the hostile credential helpers are, and how to read what the hanging one left. */
export interface HostileCredentialHelpers {
  /** The directory to put first on PATH. */
  binDir: string;
  /**
   * The environment variable the `hang` helper reads: it writes its own pid
   * to `<value>.helper` and its child's to `<value>.child`.
   */
  pidsVariable: 'HANG_PIDS';
  /** The pids `hang` wrote under `prefix`, once both files are there (10 s at most). */
  hangPids(prefix: string): Promise<{ helper: number; child: number }>;
}

/**
 * Writes `docker-credential-*` programs that misbehave as issue 22 found
 * helpers do, for tests that prove a secret never reaches output and a
 * helper never outlives its caller:
 *
 * - `leaky`: prints its whole credential JSON, `secret` included, on stdout
 *   and stderr, and exits 1;
 * - `garbled`: prints `password=<secret>` (not JSON) and exits 0;
 * - `hang`: writes its pid, starts a child that sleeps, writes the child's
 *   pid, and waits for ever.
 */
export function writeHostileCredentialHelpers(dir: string, secret: string): HostileCredentialHelpers {
  const binDir = path.join(dir, 'hostile-helpers');
  fs.mkdirSync(binDir, { recursive: true });
  const write = (name: string, script: string) =>
    fs.writeFileSync(path.join(binDir, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, {
      mode: 0o755,
    });
  write(
    'leaky',
    `echo '{"ServerURL":"x","Username":"ci","Secret":"${secret}"}'\necho 'debug: {"Secret":"${secret}"}' >&2\nexit 1`,
  );
  write('garbled', `echo 'password=${secret}'`);
  write('hang', 'echo $$ > "$HANG_PIDS.helper"\nsleep 300 &\necho $! > "$HANG_PIDS.child"\nwait');
  return {
    binDir,
    pidsVariable: 'HANG_PIDS',
    async hangPids(prefix) {
      const read = (file: string) => (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : 0);
      const deadline = Date.now() + 10_000;
      while ((!read(`${prefix}.helper`) || !read(`${prefix}.child`)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      return { helper: read(`${prefix}.helper`), child: read(`${prefix}.child`) };
    },
  };
}

/** True while a process with this pid exists (signal 0 probes without touching it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
