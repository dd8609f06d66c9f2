import { describeCredentialSources } from '@alki/oci';
import { which } from '../lookup.js';
import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

const NEEDED_BY = ['publish', 'pull', 'tags'];

/**
 * Where `alki publish`, `pull` and `tags` would find registry credentials:
 * variables, Docker logins and credential helpers, named but never read.
 * A helper the config names but PATH lacks fails, as those commands would.
 */
export async function checkRegistryCredentials(probes: DoctorProbes): Promise<CheckResult> {
  const base = { id: 'registry.credentials', title: 'registry credentials', neededBy: NEEDED_BY };
  let sources;
  try {
    sources = await describeCredentialSources({ env: probes.env });
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      detail: (error as Error).message,
      fix: 'fix or remove the Docker config file (`docker login` writes a new one)',
    };
  }
  const programs = [...sources.helpers.map((h) => h.program), ...(sources.store ? [sources.store] : [])];
  const missing: string[] = [];
  for (const program of new Set(programs)) if (!(await which(probes, program))) missing.push(program);
  const found = [
    ...(sources.variables.length ? [`$${sources.variables.join(' + $')}`] : []),
    ...(sources.logins.length ? [`logins for ${sources.logins.join(', ')}`] : []),
    ...sources.helpers.map((h) => `${h.program} for ${h.registry}`),
    ...(sources.store ? [`${sources.store} for other registries`] : []),
  ];
  const where = sources.dockerConfig.exists ? ` (${sources.dockerConfig.file})` : '';
  if (missing.length) {
    return {
      ...base,
      status: 'fail',
      detail: `the Docker config${where} names ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not on PATH`,
      fix: `install ${missing.join(' and ')}, or remove it from credHelpers/credsStore in ${sources.dockerConfig.file}`,
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: found.length
      ? `${found.join('; ')}${where} (not shown)`
      : 'none: registries are used anonymously; `docker login`, or ALKI_REGISTRY_USERNAME and ALKI_REGISTRY_PASSWORD, add some',
  };
}
