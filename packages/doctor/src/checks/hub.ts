import { findTokenSource, hubCacheDir, resolveHubConfig } from '@alki/hub';
import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

const NEEDED_BY = ['pack', 'inspect', 'convert'];

/**
 * The Hugging Face cache (writable?) and where a token would come from. The
 * token itself is never read into the report: only its source is named.
 */
export async function checkHub(probes: DoctorProbes): Promise<CheckResult[]> {
  const cache = hubCacheDir(probes.env);
  const { endpoint, offline } = resolveHubConfig({ env: probes.env });
  const mode = `${endpoint}${offline ? ', offline (HF_HUB_OFFLINE)' : ''}`;
  const cacheResult: CheckResult = (await probes.isWritable(cache))
    ? {
        id: 'hub.cache',
        title: 'Hugging Face cache',
        status: 'ok',
        detail: `${cache}; hub ${mode}`,
        neededBy: NEEDED_BY,
      }
    : {
        id: 'hub.cache',
        title: 'Hugging Face cache',
        status: 'fail',
        detail: `${cache} is not writable, so hub downloads cannot be stored`,
        fix: 'set HF_HOME (or HF_HUB_CACHE) to a writable directory',
        neededBy: NEEDED_BY,
      };
  const found = findTokenSource(probes.env);
  const source = found && ('variable' in found.source ? `$${found.source.variable}` : found.source.file);
  const tokenResult: CheckResult = {
    id: 'hub.token',
    title: 'Hugging Face token',
    status: 'ok',
    detail: source
      ? `from ${source} (not shown)`
      : 'none: public repos only; set HF_TOKEN, or run `huggingface-cli login`, for gated or private ones',
    neededBy: [],
  };
  return [cacheResult, tokenResult];
}
