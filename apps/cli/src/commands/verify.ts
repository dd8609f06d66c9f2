import { verifyBundle, type VerifyReport } from '@alki/bundler';
import {
  describeSigner,
  verifyPublishedBundle,
  verifySignedBundle,
  type PublishedTrustReport,
  type TrustReport,
} from '@alki/signer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Output } from '../output.js';
import {
  isRegistryTarget,
  openPublishedBundle,
  withRegistryFlags,
  type RegistryFlags,
} from './registry-options.js';
import { trustOptions, trustPolicyFromFlags, wantsTrust, type TrustFlags } from './trust-options.js';

interface VerifyArgs extends RegistryFlags, TrustFlags {
  bundle: string;
}

function render(report: VerifyReport): string {
  if (report.ok)
    return `ok ${report.name} ${report.version}: ${report.checked.length} files match the manifest`;
  // Each message already names the path, so the line is the kind, then the message.
  return report.problems.map((problem) => `${problem.kind.padEnd(12)} ${problem.message}`).join('\n');
}

/** The failures of a trust report, one per line: `<kind>  <message naming the file>`. */
export function renderFailures(report: Pick<TrustReport, 'failures'>): string {
  return report.failures.map((failure) => `${failure.kind.padEnd(18)} ${failure.message}`).join('\n');
}

/** The failure kinds of a refused report, each once: `unsigned, untrusted-key`. */
export function failureKinds(report: Pick<TrustReport, 'failures'>): string {
  return report.failures
    .map((f) => f.kind)
    .filter((k, i, all) => all.indexOf(k) === i)
    .join(', ');
}

function renderTrust(report: TrustReport | PublishedTrustReport): string {
  if (!report.ok) return renderFailures(report);
  const lines = [
    'dir' in report
      ? `ok ${report.name} ${report.version}: ${report.files?.checked.length ?? 0} files match the manifest (sha256:${report.manifestSha256})`
      : `ok ${report.name} ${report.version}: ${report.reference}, every layer bound to the signed manifest (sha256:${report.manifestSha256})`,
    ...report.signers.map((signer) => `  signed by   ${describeSigner(signer)}`),
  ];
  if (report.signers.length === 0) lines.push('  unsigned    (the policy allows it)');
  const source = report.provenance?.predicate.buildDefinition.externalParameters.source as
    { kind?: string; repo?: string; revision?: string | null } | undefined;
  if (source)
    lines.push(
      `  built from  ${source.kind ?? '?'} ${source.repo ?? '?'}${source.revision ? `@${source.revision}` : ''}`,
    );
  return lines.join('\n');
}

// `alki verify <registry ref>`: the attached signatures, judged before anything is downloaded but manifest.json.
async function verifyPublished(argv: VerifyArgs, out: Output, signal: AbortSignal): Promise<void> {
  if (!wantsTrust(argv))
    throw new CliError(
      'USAGE',
      `Verifying the published bundle ${argv.bundle} checks its signatures: say whom to trust with --key, --certificate-identity or --policy.`,
      { details: { flag: '--key' } },
    );
  const policy = await trustPolicyFromFlags(argv);
  const source = await openPublishedBundle(argv.bundle, argv, out, signal);
  const report = await verifyPublishedBundle(source, policy, { signal });
  for (const warning of report.warnings) out.warn(warning);
  // The attached Sigstore bundles are raw bytes; --json shows the judged signatures instead.
  out.result({ ...report, attached: report.attached.map((entry) => entry.referrer) }, () =>
    renderTrust(report),
  );
  if (!report.ok) {
    out.error(
      `error: ${report.reference} failed verification under the trust policy: ${failureKinds(report)}.`,
    );
    process.exitCode = EXIT_CODES.checkFailed;
  }
}

export const verifyCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    trustOptions(
      withRegistryFlags(y).positional('bundle', {
        type: 'string',
        demandOption: true,
        describe:
          'The bundle directory (as written by alki pack), or a published bundle: host/repo[:tag|@sha256:...]',
      }),
    )
      .example('$0 verify ./dist/qwen3-0-6b', 'Exit 0 when every file matches; exit 1 naming each bad file')
      .example('$0 verify ./dist/qwen3-0-6b --key alki.pub', 'Also require a signature by that key')
      .example(
        '$0 verify ./dist/qwen3-0-6b --certificate-identity ci@acme.com --certificate-oidc-issuer https://accounts.google.com',
        'Also require a keyless signature by that identity',
      )
      .example('$0 verify ./dist/qwen3-0-6b --policy trust.json --json', 'Under a trust policy, as JSON')
      .example(
        '$0 verify registry.example.com/ai/qwen3:v1.0.0 --key alki.pub',
        'A published bundle: its attached signatures, before pulling it',
      ),
  handler: withContext<VerifyArgs>(async (argv, { out, signal }) => {
    if (isRegistryTarget(argv.bundle)) return verifyPublished(argv, out, signal);
    const progress = out.progress('verify');
    const onProgress = (event: { done: number; total: number; file: string }) => {
      progress.update(event.done, event.total);
      progress.step(event.file);
    };
    if (wantsTrust(argv)) {
      const policy = await trustPolicyFromFlags(argv);
      const report = await verifySignedBundle(argv.bundle, policy, { signal, onProgress });
      progress.done();
      for (const warning of report.warnings) out.warn(warning);
      out.result(report, () => renderTrust(report));
      if (!report.ok) {
        out.error(
          `error: ${report.dir} failed verification under the trust policy: ${failureKinds(report)}.`,
        );
        process.exitCode = EXIT_CODES.checkFailed;
      }
      return;
    }
    const report = await verifyBundle(argv.bundle, { signal, onProgress });
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
