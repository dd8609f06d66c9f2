import {
  bundleToJSON,
  toMessageSignatureBundle,
  type BundleWithDsseEnvelope,
  type BundleWithMessageSignature,
  type SerializedBundle,
} from '@sigstore/bundle';
import { createHash } from 'node:crypto';
import {
  DSSEBundleBuilder,
  MessageSignatureBundleBuilder,
  type Artifact,
  type Bundle,
  type Signature,
} from '@sigstore/sign';
import { SignerError } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../format/media-types.js';
import { signerFor, type SigningMethod } from './signing-method.js';

/** The DER bytes of the first certificate in a PEM text. */
function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

// @sigstore/sign 4 packages message signatures as v0.2 bundles (with a
// certificate chain); Alki writes the v0.3 form, one leaf certificate, which
// is what the bundle spec now asks for and cosign's --new-bundle-format reads.
class MessageSignatureV03Builder extends MessageSignatureBundleBuilder {
  protected override package(artifact: Artifact, signature: Signature): Promise<BundleWithMessageSignature> {
    return Promise.resolve(
      toMessageSignatureBundle({
        digest: createHash('sha256').update(artifact.data).digest(),
        signature: signature.signature,
        certificate:
          signature.key.$case === 'x509Certificate' ? pemToDer(signature.key.certificate) : undefined,
        keyHint: signature.key.$case === 'publicKey' ? signature.key.hint : undefined,
        certificateChain: false,
      }),
    );
  }
}

// Everything thrown below @sigstore/sign is reworded here: its messages may
// quote the identity token, and a secret must never reach a log.
function scrubbed(error: unknown, method: SigningMethod): SignerError {
  if (error instanceof SignerError) return error;
  let message = error instanceof Error ? error.message : String(error);
  if (method.kind === 'keyless') message = message.split(method.identityToken).join('[token]');
  const status = (error as { statusCode?: unknown }).statusCode;
  return new SignerError(
    'SIGNING_SERVICE_FAILED',
    `Keyless signing failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${message}.`,
    {
      hint: 'Check --fulcio-url and --rekor-url, the network, and that the identity token is fresh (they expire in minutes).',
      details: { code: (error as { code?: unknown }).code },
    },
  );
}

/**
 * Signs bytes (a bundle's manifest.json) and returns a Sigstore bundle v0.3
 * with a message signature over their SHA-256. Key signing is offline;
 * keyless signing gets a Fulcio certificate and a Rekor entry.
 *
 * @example
 * const bundle = await signBlob(readFileSync('metadata/manifest.json'), { kind: 'key', privateKey });
 */
export async function signBlob(data: Buffer, method: SigningMethod): Promise<SerializedBundle> {
  try {
    const bundle: Bundle = await new MessageSignatureV03Builder(signerFor(method)).create({ data });
    return bundleToJSON(bundle);
  } catch (error) {
    throw scrubbed(error, method);
  }
}

/**
 * Signs an in-toto statement as a DSSE envelope and returns it in a Sigstore
 * bundle v0.3 (payload type `application/vnd.in-toto+json`).
 *
 * @example
 * const bundle = await signStatement(buildProvenance(input), { kind: 'key', privateKey });
 */
export async function signStatement(statement: object, method: SigningMethod): Promise<SerializedBundle> {
  if (method.kind === 'keyless' && method.identityToken === '')
    throw new SignerError('INVALID_INPUT', 'The identity token is empty.');
  try {
    const builder = new DSSEBundleBuilder({ ...signerFor(method), certificateChain: false });
    const bundle: BundleWithDsseEnvelope = await builder.create({
      data: Buffer.from(JSON.stringify(statement), 'utf8'),
      type: IN_TOTO_PAYLOAD_TYPE,
    });
    return bundleToJSON(bundle);
  } catch (error) {
    throw scrubbed(error, method);
  }
}
