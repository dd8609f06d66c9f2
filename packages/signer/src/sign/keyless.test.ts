import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, startSigstoreStandIns, type SigstoreStandIns } from '@alki/testkit';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { packTinyBundle } from '../__fixtures__/bundles.js';
import {
  resolveIdentityToken,
  resolveTrustPolicy,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  signBundle,
  verifySignedBundle,
  type SignBundleResult,
} from '../index.js';

const ISSUER = 'https://issuer.alki.test';
const SUBJECT = 'builder@alki.test';
const work = mkdtempSync(path.join(os.tmpdir(), 'alki-keyless-'));
let sigstore: SigstoreStandIns;
let other: SigstoreStandIns;
let unsigned: string;
let signed: string;
let token: string;
let result: SignBundleResult;

beforeAll(async () => {
  sigstore = await startSigstoreStandIns();
  other = await startSigstoreStandIns();
  unsigned = await packTinyBundle(work, 'tiny');
  signed = path.join(work, 'signed');
  cpSync(unsigned, signed, { recursive: true });
  token = sigstore.identityToken(SUBJECT, ISSUER);
  result = await signBundle(signed, {
    method: {
      kind: 'keyless',
      identityToken: token,
      fulcioUrl: sigstore.fulcioUrl,
      rekorUrl: sigstore.rekorUrl,
    },
    provenance: { signerVersion: '0.1.0-test' },
  });
});
afterAll(async () => {
  await sigstore?.stop();
  await other?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('keyless signing against local Fulcio and Rekor stand-ins', () => {
  it('gets a certificate and a log entry for both the signature and the provenance', () => {
    expect(sigstore.requests.filter((r) => r === 'POST /api/v2/signingCert')).toHaveLength(2);
    expect(sigstore.requests.filter((r) => r === 'POST /api/v1/log/entries')).toHaveLength(2);
    const signature = JSON.parse(readFileSync(path.join(signed, result.files.signature), 'utf8')) as {
      mediaType: string;
      verificationMaterial: {
        certificate: { rawBytes: string };
        tlogEntries: Array<{ kindVersion: unknown }>;
      };
    };
    expect(signature.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(signature.verificationMaterial.certificate.rawBytes).toEqual(expect.any(String));
    expect(signature.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(signature.verificationMaterial.tlogEntries[0].kindVersion).toEqual({
      kind: 'hashedrekord',
      version: '0.0.1',
    });
    expect(result.signer).toEqual({ kind: 'identity', subject: SUBJECT, issuer: ISSUER });
  });

  it('verifies under a policy that trusts the identity and the stand-ins trusted root', async () => {
    const policy = await resolveTrustPolicy(
      {
        schema_version: 1,
        require_provenance: true,
        identities: [{ subject: SUBJECT, issuer: ISSUER }],
        trusted_root: sigstore.trustedRoot,
      },
      work,
    );
    const report = await verifySignedBundle(signed, policy);
    expect(report.failures).toEqual([]);
    expect(report.signers).toEqual([{ kind: 'identity', subject: SUBJECT, issuer: ISSUER }]);
  });

  it('fails for another identity or another issuer, naming the one that signed', async () => {
    for (const identity of [
      { subject: 'someone-else@alki.test', issuer: ISSUER },
      { subject_regexp: '.*@alki\\.test', issuer: 'https://other-issuer.alki.test' },
    ]) {
      const policy = await resolveTrustPolicy(
        { schema_version: 1, identities: [identity], trusted_root: sigstore.trustedRoot },
        work,
      );
      const report = await verifySignedBundle(signed, policy);
      expect(report.ok).toBe(false);
      expect(report.failures).toContainEqual(
        expect.objectContaining({
          kind: 'untrusted-identity',
          message: expect.stringContaining(
            `signed by ${SUBJECT} (issuer ${ISSUER}), which the policy does not trust`,
          ),
        }),
      );
    }
  });

  it('fails against the trusted root of another Sigstore instance', async () => {
    const policy = await resolveTrustPolicy(
      {
        schema_version: 1,
        identities: [{ subject: SUBJECT, issuer: ISSUER }],
        trusted_root: other.trustedRoot,
      },
      work,
    );
    const report = await verifySignedBundle(signed, policy);
    expect(report.ok).toBe(false);
    expect(report.failures[0]).toMatchObject({
      kind: 'invalid-signature',
      message: expect.stringContaining('trusted root'),
    });
  });

  it('never writes the identity token into the bundle, nor into an error when Fulcio cannot be reached', async () => {
    for (const entry of readdirSync(signed, { recursive: true, withFileTypes: true }).filter((e) =>
      e.isFile(),
    ))
      expect(readFileSync(path.join(entry.parentPath, entry.name), 'utf8')).not.toContain(token);
    const dir = path.join(work, 'unreachable');
    cpSync(unsigned, dir, { recursive: true });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const failure = await signBundle(dir, {
      method: {
        kind: 'keyless',
        identityToken: token,
        fulcioUrl: closed,
        rekorUrl: closed,
        timeoutMs: 2_000,
      },
      provenance: false,
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'SIGNING_SERVICE_FAILED', category: 'network' });
    expect(JSON.stringify((failure as { toJSON(): unknown }).toJSON())).not.toContain(token);
    expect(String((failure as Error).stack)).not.toContain(token);
  });
});

describe('resolveIdentityToken', () => {
  it('prefers a token file, then SIGSTORE_ID_TOKEN, then GitHub Actions, and never quotes a bad token', async () => {
    const file = path.join(work, 'token.jwt');
    writeFileSync(file, `${token}\n`);
    const env = { SIGSTORE_ID_TOKEN: sigstore.identityToken('env@alki.test', ISSUER) };
    expect((await resolveIdentityToken({ file, env })).claims).toEqual({ subject: SUBJECT, issuer: ISSUER });
    expect(await resolveIdentityToken({ env })).toMatchObject({
      origin: 'SIGSTORE_ID_TOKEN',
      claims: { subject: 'env@alki.test' },
    });
    await expect(
      resolveIdentityToken({ env: { SIGSTORE_ID_TOKEN: 'not-a-jwt-secret-value' } }),
    ).rejects.toMatchObject({
      code: 'INVALID_IDENTITY_TOKEN',
      message: expect.not.stringContaining('not-a-jwt-secret-value'),
    });
    await expect(resolveIdentityToken({ env: {} })).rejects.toMatchObject({ code: 'IDENTITY_TOKEN_MISSING' });
  });

  it('asks GitHub Actions for a token with the sigstore audience and the request token', async () => {
    const seen: Array<{ url: string; authorization: string | undefined }> = [];
    const actionsToken = sigstore.identityToken(
      'repo:acme/models:ref:refs/heads/main',
      'https://token.actions.githubusercontent.com',
    );
    const server = http.createServer((request, response) => {
      seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
      response
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ value: actionsToken }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const found = await resolveIdentityToken({
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-secret',
        },
      });
      expect(found).toMatchObject({ origin: 'github-actions', token: actionsToken });
      expect(seen).toEqual([
        { url: '/token?api-version=2.0&audience=sigstore', authorization: 'Bearer runner-secret' },
      ]);
    } finally {
      server.close();
    }
  });
});
