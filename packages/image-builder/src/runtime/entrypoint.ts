// The two-stage runtime image's entrypoint: `node entrypoint.js [extra
// llama-server args]`. It runs inside the image, where @alki/* resolve from
// the node_modules that buildRuntimeImage copied next to it.
import { readBundle, verifyBundle } from '@alki/bundler';
import { isAlkiError } from '@alki/errors';
import { pullBundleFromUri } from './pull-bundle.js';
import { runRuntime, runServerForeground, runtimeSettings } from './runtime-main.js';

const controller = new AbortController();
process.once('SIGTERM', () => controller.abort(new Error('SIGTERM')));
process.once('SIGINT', () => controller.abort(new Error('SIGINT')));

try {
  const settings = runtimeSettings(process.env, process.argv.slice(2));
  process.exitCode = await runRuntime(
    settings,
    {
      pullBundle: (reference, dir, options) => pullBundleFromUri(reference, dir, options),
      readBundle,
      verifyBundle,
      runServer: runServerForeground,
      log: (line) => process.stderr.write(`${line}\n`),
    },
    controller.signal,
  );
} catch (error) {
  // One clear line (and a hint) instead of a stack: this is what `podman logs` shows an operator.
  const message = isAlkiError(error) ? error.message : (error as Error).message;
  process.stderr.write(`alki-runtime: refusing to start: ${message}\n`);
  if (isAlkiError(error) && error.hint) process.stderr.write(`alki-runtime: hint: ${error.hint}\n`);
  process.exitCode = 1;
}
