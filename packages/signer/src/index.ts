// The public API of @alki/signer. Everything else is private.
export { SignerError } from './errors.js';
export type { SignerErrorCode } from './errors.js';
export {
  ALKI_BUILD_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SLSA_PROVENANCE_PREDICATE_TYPE,
} from './format/media-types.js';
export { generateKeyPair, keyIdOf, loadPrivateKey, loadPublicKey } from './keys/key-pair.js';
export type { KeyPairPem } from './keys/key-pair.js';
export { writeKeyPair } from './keys/write-key-pair.js';
export type { WrittenKeyPair } from './keys/write-key-pair.js';
export { identityClaims, resolveIdentityToken } from './sign/identity-token.js';
export type { IdentityClaims, IdentityTokenOrigin, IdentityTokenSources } from './sign/identity-token.js';
export { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL } from './sign/signing-method.js';
export type { SigningMethod } from './sign/signing-method.js';
export { signBlob, signStatement } from './sign/sign-artifact.js';
export { ALKI_BUILDER_ID, buildProvenance } from './provenance/provenance.js';
export { hashSourceFiles } from './provenance/source-digests.js';
export type { ProvenanceInput, ProvenanceStatement, ResourceDescriptor } from './provenance/provenance.js';
export { loadTrustPolicy, resolveTrustPolicy, shortKeyId } from './policy/policy.js';
export type { TrustedIdentity, TrustedKey, TrustPolicy, TrustPolicyDocument } from './policy/policy.js';
export { trustPolicySchemaV1 } from './policy/schema.js';
export { parseTrustedRoot, publicGoodTrustedRoot, tufCachePath } from './verify/trusted-root.js';
export type { TrustedRootSource, TufCacheIo } from './verify/trusted-root.js';
export { describeSigner, verifySignature } from './verify/verify-signature.js';
export type {
  SignatureCheck,
  SignatureFailure,
  SignedSubject,
  SignerInfo,
  VerifySignatureOptions,
} from './verify/verify-signature.js';
export { describeSignatures } from './bundle/describe-signatures.js';
export type { SignatureClaim } from './bundle/describe-signatures.js';
export { readSignatureFiles, signatureFilePath } from './bundle/signature-files.js';
export type { FoundSignatureFile, SignatureFileKind, SignerName } from './bundle/signature-files.js';
export { signBundle } from './bundle/sign-bundle.js';
export type { SignBundleOptions, SignBundleResult, SignedManifest } from './bundle/sign-bundle.js';
export { verifySignedBundle } from './bundle/verify-signed-bundle.js';
export type {
  SignatureReport,
  SignatureVerdict,
  TrustFailure,
  TrustFailureKind,
  TrustReport,
  VerifyTrustOptions,
} from './bundle/verify-signed-bundle.js';
export {
  attachBundleSignatures,
  publishedArtifact,
  pullVerifiedBundle,
  signPublishedBundle,
  verifyPublishedBundle,
} from './registry/published-bundle.js';
export type {
  AttachedSigstoreBundle,
  PublishedBundleSource,
  PublishedTrustReport,
  PullVerifiedOptions,
  SignedPublishedBundle,
} from './registry/published-bundle.js';
