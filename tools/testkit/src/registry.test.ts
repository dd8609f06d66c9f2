import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startRegistry, type TestRegistry } from './registry.js';

describe('startRegistry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('serves the OCI distribution API on 127.0.0.1 and answers /v2/ with 200', async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('stops the process by its PID, after which the port refuses connections', async () => {
    const other = await startRegistry();
    await other.stop();
    await expect(fetch(`${other.url}/v2/`)).rejects.toThrow();
  });
});

describe('startRegistry with basic auth', () => {
  it('answers 401 without credentials and 200 with them', async () => {
    const registry = await startRegistry({ basicAuth: { username: 'alice', password: 's3cret' } });
    try {
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
      const authorization = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      expect((await fetch(`${registry.url}/v2/`, { headers: { authorization } })).status).toBe(200);
    } finally {
      await registry.stop();
    }
  });
});
