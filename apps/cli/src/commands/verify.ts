import { verifyBundle, type VerifyReport } from '@alki/bundler';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';
import { EXIT_CODES } from '../exit-codes.js';

interface VerifyArgs extends GlobalOptions {
  bundle: string;
}

function render(report: VerifyReport): string {
  if (report.ok)
    return `ok ${report.name} ${report.version}: ${report.checked.length} files match the manifest`;
  // Each message already names the path, so the line is the kind, then the message.
  return report.problems.map((problem) => `${problem.kind.padEnd(12)} ${problem.message}`).join('\n');
}

export const verifyCommand: AlkiCommand = {
  command: 'verify <bundle>',
  describe:
    'Check a bundle: validate its manifest and SBOM, recompute every hash, report tampered, missing and extra files',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('bundle', {
        type: 'string',
        demandOption: true,
        describe: 'The bundle directory (as written by alki pack)',
      })
      .example('$0 verify ./dist/qwen3-0-6b', 'Exit 0 when every file matches; exit 1 naming each bad file')
      .example('$0 verify ./dist/qwen3-0-6b --json', 'The report as JSON: checked files and problems'),
  handler: withContext<VerifyArgs>(async (argv, { out, signal }) => {
    const progress = out.progress('verify');
    const report = await verifyBundle(argv.bundle, {
      signal,
      onProgress: (event) => {
        progress.update(event.done, event.total);
        progress.step(event.file);
      },
    });
    progress.done();
    out.result(report, () => render(report));
    if (!report.ok) {
      out.error(
        `error: ${report.dir} failed verification: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} (${report.problems.map((p) => p.path).join(', ')}).`,
      );
      process.exitCode = EXIT_CODES.checkFailed;
    }
  }),
};
