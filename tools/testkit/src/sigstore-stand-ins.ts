import { X509Certificate } from '@sigstore/core';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sigstoreMock from '@sigstore/mock';

const { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler } = sigstoreMock;

export interface SigstoreStandIns {
  /** Base URL of the Fulcio stand-in (`POST /api/v2/signingCert`). */
  fulcioUrl: string;
  /** Base URL of the Rekor stand-in (`POST /api/v1/log/entries`). */
  rekorUrl: string;
  /** A trusted_root.json document naming the stand-ins' CA, CT log and transparency log. */
  trustedRoot: Record<string, unknown>;
  /**
   * An OIDC identity token for `subject` at `issuer`. The stand-in Fulcio
   * reads its claims without checking a signature (a real Fulcio checks it
   * against the issuer's keys), so the token is signed with nothing.
   */
  identityToken(subject: string, issuer: string): string;
  /** Requests received, by path, for tests that check what was sent. */
  requests: string[];
  stop(): Promise<void>;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

// An SCT v1 for a precertificate (RFC 6962 section 3.2): the log signs
// version, signature type, timestamp, entry type, the issuer key hash and
// the precertificate's TBS; the SCT carries the log id, the timestamp and
// the ECDSA signature (hash sha256 = 4, signature ecdsa = 3).
function signedCertificateTimestamp(
  precertificate: ArrayBuffer,
  issuerKeyHash: Buffer,
  logId: Buffer,
  key: KeyObject,
): Buffer {
  const tbs = X509Certificate.parse(Buffer.from(precertificate)).tbsCertificate.toDER();
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(Date.now()));
  const tbsLength = Buffer.alloc(3);
  tbsLength.writeUIntBE(tbs.length, 0, 3);
  const signed = Buffer.concat([
    Buffer.from([0, 0]),
    timestamp,
    uint16(1),
    issuerKeyHash,
    tbsLength,
    tbs,
    uint16(0),
  ]);
  const signature = sign('sha256', signed, key);
  return Buffer.concat([
    Buffer.from([0]),
    logId,
    timestamp,
    uint16(0),
    Buffer.from([4, 3]),
    uint16(signature.length),
    signature,
  ]);
}

interface ProposedDsseEntry {
  kind: string;
  apiVersion: string;
  spec: { proposedContent?: { envelope: string; verifiers: string[] } };
}

function canonicalRekorEntry(proposed: ProposedDsseEntry): unknown {
  if (proposed.kind !== 'dsse' || !proposed.spec.proposedContent) return proposed;
  const { envelope, verifiers } = proposed.spec.proposedContent;
  const parsed = JSON.parse(envelope) as { payload: string; signatures: Array<{ sig: string }> };
  const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  return {
    kind: 'dsse',
    apiVersion: proposed.apiVersion,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(parsed.payload, 'base64')) },
      signatures: parsed.signatures.map((signature, index) => ({
        signature: signature.sig,
        verifier: verifiers[index],
      })),
    },
  };
}

function ecKeyPair() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/**
 * Local stand-ins for Sigstore's Fulcio and Rekor on 127.0.0.1, built on
 * @sigstore/mock's CA, CT log and transparency log (the same ones
 * sigstore-js tests against), served over real HTTP so the signer's own
 * clients talk to them. Tests never reach the public-good instance.
 */
export async function startSigstoreStandIns(): Promise<SigstoreStandIns> {
  const requests: string[] = [];
  // Filled once the server listens: the transparency log needs its URL.
  const handlers: Array<{
    path: string;
    fn: (body: string) => Promise<{ statusCode: number; response: string | Buffer; contentType?: string }>;
  }> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      const handler = handlers.find((h) => request.method === 'POST' && request.url === h.path);
      if (!handler) {
        response.writeHead(404).end();
        return;
      }
      handler
        .fn(Buffer.concat(chunks).toString('utf8'))
        .then((result) => {
          response.writeHead(result.statusCode, { 'Content-Type': result.contentType ?? 'text/plain' });
          response.end(result.response);
        })
        .catch(() => response.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ctLogKeys = ecKeyPair();
  const tLogKeys = ecKeyPair();
  const ctLog = await initializeCTLog(ctLogKeys);
  // @sigstore/mock 0.11's CT log writes SCTs with an empty signature (its
  // asn1js parse of Node's DER signature yields nothing), and its CA embeds
  // the list without each SCT's uint16 length (RFC 6962 section 3.3). This CT
  // log signs the precertificate itself, RFC 6962 section 3.2, and returns
  // the length-prefixed SCT, so the CA's prefix makes a correct list.
  const ca = await initializeCA(ecKeyPair(), {
    ...ctLog,
    log: (certificate, issuerId) => {
      const sct = signedCertificateTimestamp(
        certificate,
        Buffer.from(issuerId),
        ctLog.logID,
        ctLogKeys.privateKey,
      );
      return Promise.resolve(new Uint8Array(Buffer.concat([uint16(sct.length), sct])).buffer);
    },
  });
  const tLog = await initializeTLog(base, tLogKeys);
  handlers.push(fulcioHandler(ca));
  const rekorLog = rekorHandler(tLog);
  // The mock logs the proposed entry as it came; a real Rekor stores a dsse
  // entry in its canonical form (rekor pkg/types/dsse/v0.0.1: the envelope's
  // signatures with their verifiers, and hashes of the envelope and payload),
  // which is what verifiers compare with the bundle. Store that form.
  handlers.push({
    path: rekorLog.path,
    fn: (body: string) =>
      rekorLog.fn(JSON.stringify(canonicalRekorEntry(JSON.parse(body) as ProposedDsseEntry))),
  });

  // Valid from an hour ago, so certificates issued now fall inside.
  const validFor = { start: new Date(Date.now() - 3_600_000).toISOString() };
  const spki = (key: { export(o: { type: 'spki'; format: 'der' }): Buffer }) =>
    key.export({ type: 'spki', format: 'der' });
  const tLogPublicKey = spki(tLogKeys.publicKey);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: base,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: tLogPublicKey.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor,
        },
        logId: { keyId: createHash('sha256').update(tLogPublicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: base,
        certChain: { certificates: [{ rawBytes: ca.rootCertificate.toString('base64') }] },
        validFor,
      },
    ],
    ctlogs: [
      {
        baseUrl: base,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: ctLog.publicKey.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor,
        },
        logId: { keyId: ctLog.logID.toString('base64') },
      },
    ],
    timestampAuthorities: [],
  };

  return {
    fulcioUrl: base,
    rekorUrl: base,
    trustedRoot,
    identityToken: (subject, issuer) => {
      const now = Math.floor(Date.now() / 1000);
      return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: issuer, sub: subject, aud: 'sigstore', iat: now, exp: now + 600 })}.`;
    },
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
