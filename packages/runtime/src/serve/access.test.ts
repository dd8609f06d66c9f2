import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nativeTools, selfSignedCertificate } from '@alki/testkit';
import { RuntimeError } from '../errors.js';
import { tinyModel } from '../test-support/models.js';
import { createKeyCheck, loadApiKeys, pathNeedsKey } from './access.js';
import type { RunningServer } from './openai-server.js';
import { serveModel, type EngineName } from './serve.js';
import { resolveGgufSettings } from './settings.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-access-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<RuntimeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RuntimeError) return error;
    throw error;
  }
  throw new Error('expected a RuntimeError');
}

describe('loadApiKeys', () => {
  it('collects keys from flags (comma-separated), files (skipping blanks and comments) and the environment, once each', async () => {
    const file = path.join(work, 'keys');
    fs.writeFileSync(file, '# fleet keys\r\nfile-key-1\r\n\r\n  file-key-2  \nflag-key\n');
    const keys = await loadApiKeys({
      keys: ['flag-key,flag-key-2'],
      files: [file],
      env: 'env-key, flag-key',
    });
    expect(keys).toEqual(['flag-key', 'flag-key-2', 'file-key-1', 'file-key-2', 'env-key']);
  });

  it('names an unreadable key file without a stack, and a malformed key by its line, never by its text', async () => {
    const missing = await failure(loadApiKeys({ files: [path.join(work, 'absent')] }));
    expect(missing.code).toBe('INVALID_INPUT');
    expect(missing.message).toBe(`The API key file ${path.join(work, 'absent')} cannot be read: ENOENT.`);
    const file = path.join(work, 'bad-keys');
    fs.writeFileSync(file, 'good-key\nsecret with-space\n');
    const malformed = await failure(loadApiKeys({ files: [file] }));
    expect(malformed.message).toContain(`${file} line 2`);
    expect(malformed.message).not.toContain('secret');
  });
});

describe('createKeyCheck', () => {
  const check = createKeyCheck(['first-key', 'second-key']);

  it('takes any of its keys as a Bearer token or an X-Api-Key header', () => {
    expect(check({ authorization: 'Bearer first-key' })).toBe(true);
    expect(check({ authorization: 'bearer second-key' })).toBe(true);
    expect(check({ 'x-api-key': 'second-key' })).toBe(true);
  });

  it('refuses a missing key, a wrong one, a prefix or an extension of a right one, and another scheme', () => {
    expect(check({})).toBe(false);
    expect(check({ authorization: 'Bearer first' })).toBe(false);
    expect(check({ authorization: 'Bearer first-key-and-more' })).toBe(false);
    expect(check({ authorization: 'Basic Zmlyc3Qta2V5' })).toBe(false);
    expect(check({ 'x-api-key': ['first-key', 'second-key'] })).toBe(false);
  });
});

describe('pathNeedsKey', () => {
  it('leaves everything open without keys, /health open and /metrics closed by default with them', () => {
    expect(pathNeedsKey({ apiKeys: [] }, '/v1/chat/completions')).toBe(false);
    const policy = { apiKeys: ['k'] };
    expect(['/health', '/metrics', '/v1/models', '/nowhere'].map((p) => pathNeedsKey(policy, p))).toEqual([
      false,
      true,
      true,
      true,
    ]);
    const flipped = { apiKeys: ['k'], openHealth: false, openMetrics: true };
    expect(['/health', '/metrics'].map((p) => pathNeedsKey(flipped, p))).toEqual([true, false]);
  });

  it('puts the dashboard paths under the rule of /metrics', () => {
    const dashboardPaths = ['/', '/dashboard/data.json'];
    const paths = ['/', '/dashboard/data.json', '/v1/models'];
    expect(paths.map((p) => pathNeedsKey({ apiKeys: ['k'], dashboardPaths }, p))).toEqual([true, true, true]);
    expect(paths.map((p) => pathNeedsKey({ apiKeys: ['k'], dashboardPaths, openMetrics: true }, p))).toEqual([
      false,
      false,
      true,
    ]);
    expect(pathNeedsKey({ apiKeys: [], dashboardPaths }, '/')).toBe(false);
  });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request that trusts only the test's certificate. */
function request(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = https.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => (text += piece));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    call.on('error', reject);
    call.end(options.body);
  });
}

const KEYS = ['alki-test-key-one-7f3a', 'alki-test-key-two-91cc'];

const tinySettings = async () =>
  resolveGgufSettings(await tinyModel(), { port: 0, ctx: 128, threads: 1, parallel: 1 });

describe.each<EngineName>(['node-llama-cpp', 'llama-server'])(
  'a key-protected HTTPS server on %s',
  (engine) => {
    let server: RunningServer;
    let tls: { cert: Buffer; key: Buffer };
    const logs: string[] = [];

    beforeAll(async () => {
      tls = selfSignedCertificate(fs.mkdtempSync(path.join(work, 'tls-')), {
        commonName: 'alki-test',
        newkey: 'ec',
        altNames: ['IP:127.0.0.1'],
        purpose: 'the TLS tests of alki serve',
      });
      const serving = await serveModel({
        settings: await tinySettings(),
        engine,
        llamaServerBinary:
          engine === 'llama-server' ? (await nativeTools()).paths['llama-server'] : undefined,
        access: { apiKeys: KEYS },
        tls,
        log: (line) => logs.push(line),
      });
      server = serving.server;
    }, 120_000);

    afterAll(async () => {
      await server?.close();
    });

    const chat = (headers: Record<string, string>) =>
      request(`${server.url}/v1/chat/completions`, tls.cert, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
      });

    it('listens on https and answers a client that trusts its certificate', async () => {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const health = await request(`${server.url}/health`, tls.cert);
      expect(health.status).toBe(200);
      await expect(request(`${server.url}/health`, Buffer.from(''))).rejects.toThrow(
        /self.signed|certificate/i,
      );
    });

    it('answers 401 with an OpenAI error body and WWW-Authenticate to a request without a key or with a wrong one', async () => {
      for (const headers of [{}, { Authorization: 'Bearer not-a-key-of-this-server' }] as Record<
        string,
        string
      >[]) {
        const answer = await chat(headers);
        expect(answer.status).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer');
        const body = JSON.parse(answer.text) as { error: Record<string, unknown> };
        expect(body.error).toMatchObject({
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          param: null,
        });
        expect(answer.text).not.toContain('not-a-key-of-this-server');
      }
      expect((await request(`${server.url}/v1/models`, tls.cert)).status).toBe(401);
      expect((await request(`${server.url}/no/such/route`, tls.cert)).status).toBe(401);
    });

    it('generates for either key, as a Bearer token or an X-Api-Key header', async () => {
      const first = await chat({ Authorization: `Bearer ${KEYS[0]}` });
      expect(first.status).toBe(200);
      expect((JSON.parse(first.text) as { object: string }).object).toBe('chat.completion');
      expect((await chat({ 'X-Api-Key': KEYS[1] })).status).toBe(200);
    }, 60_000);

    it('leaves /health open and keeps /metrics behind the key by default', async () => {
      expect((await request(`${server.url}/health`, tls.cert)).status).toBe(200);
      expect((await request(`${server.url}/metrics`, tls.cert)).status).toBe(401);
      const metrics = await request(`${server.url}/metrics`, tls.cert, {
        headers: { Authorization: `Bearer ${KEYS[1]}` },
      });
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('alki_requests_total{route="/v1/chat/completions",status="401"}');
    });

    it('writes no key into its log', () => {
      expect(logs.length).toBeGreaterThan(0);
      for (const key of KEYS) expect(logs.join('\n')).not.toContain(key);
    });

    if (engine === 'llama-server') {
      it('keeps llama-server itself behind a key only the front knows, so its loopback port is no way around', async () => {
        const upstream = logs.map((line) => /listening on (http:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
        expect(upstream).toBeDefined();
        for (const headers of [{}, { Authorization: `Bearer ${KEYS[0]}` }] as Record<string, string>[]) {
          const answer = await fetch(`${upstream}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...headers },
            body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
          });
          await answer.arrayBuffer();
          expect(answer.status).toBe(401);
        }
      });
    }
  },
);

describe('a server with /health protected and /metrics open', () => {
  it('turns the defaults around', async () => {
    const settings = await tinySettings();
    const { server } = await serveModel({
      settings,
      engine: 'node-llama-cpp',
      access: { apiKeys: KEYS, openHealth: false, openMetrics: true },
    });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(401);
      expect(
        (await fetch(`${server.url}/health`, { headers: { Authorization: `Bearer ${KEYS[0]}` } })).status,
      ).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('refuses a certificate that is not PEM before listening, with a one-line error', async () => {
    const settings = await tinySettings();
    const error = await failure(
      serveModel({
        settings,
        engine: 'node-llama-cpp',
        tls: { cert: Buffer.from('not a certificate'), key: Buffer.from('not a key') },
      }),
    );
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.message).toMatch(/^The TLS certificate and key cannot be used: /);
  }, 120_000);
});
