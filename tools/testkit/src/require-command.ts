import { spawnSync } from 'node:child_process';

/**
 * Returns the absolute path of a command on PATH, or throws an error that
 * says which test needs it and how to install it. Tests never skip silently:
 * a missing service is a failure with this message.
 */
export function requireCommand(name: string, purpose = 'this test'): string {
  const found = spawnSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { encoding: 'utf8' });
  const file = found.stdout.trim();
  if (found.status !== 0 || !file) {
    throw new Error(
      `${name} is not installed, and ${purpose} needs it. Run \`bash tools/setup/apt.sh\` (as root), or \`npm test\`, which does it for you.`,
    );
  }
  return file;
}
