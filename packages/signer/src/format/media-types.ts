// Media and payload types of what Alki signs, with the specs they come from.

/** A Sigstore bundle, v0.3 (sigstore/protobuf-specs, `bundle.proto`). */
export { BUNDLE_V03_MEDIA_TYPE as SIGSTORE_BUNDLE_MEDIA_TYPE } from '@sigstore/bundle';

/** DSSE payload type of in-toto statements (in-toto/attestation, `spec/v1/envelope.md`). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** `_type` of an in-toto statement v1 (in-toto/attestation, `spec/v1/statement.md`). */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** SLSA provenance v1 predicate type (slsa.dev/spec/v1.0/provenance). */
export const SLSA_PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/** The buildType of a bundle packed by Alki: how to read externalParameters (docs/signing.md). */
export const ALKI_BUILD_TYPE = 'https://alki.dev/provenance/pack/v1';
