import { describe, expect, it } from '@jest/globals';
import { OCI_INDEX, OCI_MANIFEST } from '../media-types.js';
import { RegistryClient } from './client.js';

// distribution 2.8 has no referrers API (the tag-schema fallback is tested
// against it in client.test.ts); a registry that has one (distribution 3,
// Zot, Harbor) is played here by an injected fetch.
describe('RegistryClient.referrers with a registry that has the referrers API', () => {
  const subject = `sha256:${'1'.repeat(64)}`;
  const signature = {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${'2'.repeat(64)}`,
    size: 500,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  };
  const sbom = {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${'3'.repeat(64)}`,
    size: 400,
    artifactType: 'application/spdx+json',
  };

  it('uses GET /v2/<name>/referrers/<digest> and filters by artifactType', async () => {
    const requested: string[] = [];
    const registry: typeof fetch = (input) => {
      const url = new URL(new Request(input).url);
      requested.push(url.pathname + url.search);
      return Promise.resolve(
        new Response(
          JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [signature, sbom] }),
          {
            status: 200,
            headers: { 'content-type': OCI_INDEX },
          },
        ),
      );
    };
    const client = new RegistryClient({ registry: 'registry.example.com', fetch: registry });
    expect(await client.referrers('models/tiny', subject)).toEqual([signature, sbom]);
    expect(await client.referrers('models/tiny', subject, { artifactType: 'application/spdx+json' })).toEqual(
      [sbom],
    );
    expect(requested[0]).toBe(`/v2/models/tiny/referrers/${subject}`);
    expect(requested).not.toContain(`/v2/models/tiny/manifests/sha256-${'1'.repeat(64)}`);
  });
});
