import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

// package.json "engines": the oldest Node every package supports.
const MINIMUM = [20, 10];

/** Node.js itself, against the version the packages declare. */
export function checkNode(probes: DoctorProbes): CheckResult {
  const [major, minor] = probes.nodeVersion.split('.').map(Number);
  const ok = major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
  return {
    id: 'node',
    title: 'Node.js',
    status: ok ? 'ok' : 'fail',
    detail: ok
      ? `Node ${probes.nodeVersion}`
      : `Node ${probes.nodeVersion} is older than ${MINIMUM.join('.')}, the oldest Alki supports`,
    ...(ok ? {} : { fix: 'install Node 20.10 or later (https://nodejs.org, or your distribution)' }),
    neededBy: ['*'],
  };
}
