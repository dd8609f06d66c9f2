import {
  loadTrustPolicy,
  resolveTrustPolicy,
  type TrustPolicy,
  type TrustPolicyDocument,
} from '@alki/signer';
import type { Argv } from 'yargs';
import { CliError } from '../errors.js';
import { refuseSpecialFile } from '../flags.js';

/** The flags that say whom to trust, shared by verify and pull. */
export interface TrustFlags {
  policy?: string;
  key?: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  trustedRoot?: string;
  requireProvenance: boolean;
}

export const trustOptions = <T>(y: Argv<T>) =>
  y
    .option('policy', {
      type: 'string',
      describe: 'A trust policy: a JSON file, or the JSON itself (docs/signing.md)',
    })
    .option('key', {
      type: 'string',
      array: true,
      describe: 'Trust signatures by this public key (.pub); repeatable',
    })
    .option('certificate-identity', {
      type: 'string',
      describe: 'Trust keyless signatures by this certificate subject (email or workflow URI)',
    })
    .option('certificate-identity-regexp', {
      type: 'string',
      describe: 'Or: a regular expression the whole subject must match',
    })
    .option('certificate-oidc-issuer', {
      type: 'string',
      describe: 'The OIDC issuer of that identity (required with either)',
    })
    .option('trusted-root', {
      type: 'string',
      describe: 'A Sigstore trusted_root.json for keyless signatures (default: public good, via TUF)',
    })
    .option('require-provenance', {
      type: 'boolean',
      default: false,
      describe: 'Also require signed SLSA provenance',
    });

/** True when any flag asks for a signature check. */
export function wantsTrust(flags: TrustFlags): boolean {
  return Boolean(
    flags.policy ||
    flags.key?.length ||
    flags.certificateIdentity ||
    flags.certificateIdentityRegexp ||
    flags.certificateOidcIssuer,
  );
}

/** The trust policy the flags describe: a --policy as it is, or one made of --key and --certificate-* flags. */
export async function trustPolicyFromFlags(flags: TrustFlags): Promise<TrustPolicy> {
  const identityFlags = flags.certificateIdentity ?? flags.certificateIdentityRegexp;
  if (flags.policy !== undefined) {
    if (flags.key?.length || identityFlags || flags.trustedRoot)
      throw new CliError(
        'USAGE',
        '--policy already says whom to trust; leave out --key, --certificate-* and --trusted-root.',
        { details: { flag: '--policy' } },
      );
    if (!flags.policy.trimStart().startsWith('{')) await refuseSpecialFile(flags.policy, '--policy');
    const policy = await loadTrustPolicy(flags.policy);
    return flags.requireProvenance ? { ...policy, requireProvenance: true } : policy;
  }
  if (
    (identityFlags === undefined) !== (flags.certificateOidcIssuer === undefined) ||
    (flags.certificateIdentity && flags.certificateIdentityRegexp)
  ) {
    throw new CliError(
      'USAGE',
      'Keyless verification needs one of --certificate-identity or --certificate-identity-regexp, and --certificate-oidc-issuer.',
      { hint: 'For GitHub Actions the issuer is https://token.actions.githubusercontent.com.' },
    );
  }
  for (const file of flags.key ?? []) await refuseSpecialFile(file, '--key');
  await refuseSpecialFile(flags.trustedRoot, '--trusted-root');
  const document: TrustPolicyDocument = {
    schema_version: 1,
    require_signature: true,
    require_provenance: flags.requireProvenance,
    keys: (flags.key ?? []).map((file) => ({ path: file })),
    identities:
      flags.certificateOidcIssuer === undefined
        ? []
        : [
            flags.certificateIdentity !== undefined
              ? { subject: flags.certificateIdentity, issuer: flags.certificateOidcIssuer }
              : {
                  subject_regexp: flags.certificateIdentityRegexp,
                  issuer: flags.certificateOidcIssuer,
                },
          ],
    ...(flags.trustedRoot !== undefined ? { trusted_root: flags.trustedRoot } : {}),
  };
  return resolveTrustPolicy(document, process.cwd(), 'given by flags');
}
