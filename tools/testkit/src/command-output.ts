import { spawnSync } from 'node:child_process';

/**
 * Runs a command to completion and returns its stdout, or throws with the
 * command line, exit status and stderr when it fails: for tests that drive
 * real tools (skopeo, umoci, podman).
 */
export function commandOutput(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}
