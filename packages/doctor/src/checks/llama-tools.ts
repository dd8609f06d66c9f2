import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

const FIX =
  'npx alki tools build (compiles them from the source node-llama-cpp ships, about 7 minutes on 2 cores)';

/**
 * The native llama.cpp tools (llama-server, llama-quantize, ...): where they
 * are, and whether their version is the llama.cpp node-llama-cpp bundles.
 */
export async function checkLlamaTools(probes: DoctorProbes): Promise<CheckResult> {
  const base = {
    id: 'llama.tools',
    title: 'llama.cpp tools',
    // serve and calibrate fall back to node-llama-cpp without llama-server; image base cannot.
    neededBy: ['image base'],
  };
  const tools = probes.findLlamaTools();
  const tag = probes.llamaCppTag();
  if (!tools) {
    return {
      ...base,
      status: 'fail',
      detail: `no complete set of native tools in the Alki cache${tag ? ` for llama.cpp ${tag}` : ''}, $ALKI_LLAMA_BIN_DIR or PATH`,
      fix: FIX,
    };
  }
  // `llama-server --version` prints "version: 0.4.0-dev (build 1, commit 80fb11a)" on stderr.
  const result = await probes.run(tools.paths['llama-server'], ['--version'], 20_000);
  const version = /version: (.+)/.exec(`${result.stdout}\n${result.stderr}`)?.[1]?.trim();
  if (result.status !== 0 || !version) {
    return {
      ...base,
      status: 'fail',
      detail: `${tools.paths['llama-server']} does not run: ${result.error ?? (result.stderr.trim().split('\n').pop() || `exit ${result.status}`)}`,
      fix: FIX,
    };
  }
  const where =
    tools.tag === 'path' || tools.tag === 'custom' ? `${tools.binDir} (${tools.tag})` : tools.binDir;
  // Tools built by `alki tools build` live under their tag; others may be any llama.cpp.
  const matches = tag !== undefined && (tools.tag === tag || version.includes(tag.replace(/^v/, '')));
  return {
    ...base,
    status: matches ? 'ok' : 'warn',
    detail: `llama-server ${version} in ${where}${matches ? '' : `; node-llama-cpp bundles llama.cpp ${tag ?? '(unknown)'}, so the two may disagree`}`,
    ...(matches ? {} : { fix: FIX }),
  };
}
