import { which } from '../lookup.js';
import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

// No alki command runs these; the test suite uses them to check registry
// artifacts and image layouts independently of Alki's own OCI code.
const TOOLS = [
  { name: 'skopeo', args: ['--version'] },
  { name: 'umoci', args: ['--version'] },
];

/** skopeo and umoci, with their versions: optional, for independent checks of what Alki writes. */
export async function checkOciTools(probes: DoctorProbes): Promise<CheckResult[]> {
  return Promise.all(
    TOOLS.map(async ({ name, args }): Promise<CheckResult> => {
      const base = { id: `oci.${name}`, title: name, neededBy: [] };
      const program = await which(probes, name);
      if (!program) {
        return {
          ...base,
          status: 'warn',
          detail: 'not installed (no alki command needs it; the test suite checks artifacts with it)',
          fix: `sudo apt-get install ${name}`,
        };
      }
      const result = await probes.run(program, args, 10_000);
      const version = result.stdout.trim().split('\n')[0] || result.stderr.trim().split('\n')[0];
      return result.status === 0
        ? { ...base, status: 'ok', detail: `${version} (${program})` }
        : {
            ...base,
            status: 'warn',
            detail: `${program} does not run: ${result.error ?? `exit ${result.status}`}`,
            fix: `sudo apt-get install --reinstall ${name}`,
          };
    }),
  );
}
