import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForHttp } from './ports.js';
import { startProcess } from './process.js';
import { requireCommand } from './require-command.js';

export interface RegistryOptions {
  /** Require HTTP basic auth with this user and password (htpasswd, bcrypt). */
  basicAuth?: { username: string; password: string };
  /**
   * Require bearer tokens from a token server (the Docker token spec).
   * The registry checks tokens against `rootCertBundle`.
   */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the host part of image references. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The registry's storage directory, for tests that tamper with blobs. */
  storageDir: string;
  /** The file in which the registry stores the blob `sha256:<hex>` (distribution's filesystem driver layout). */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

function htpasswdLine(username: string, password: string): string {
  const result = spawnSync('htpasswd', ['-nbB', username, password], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`htpasswd failed: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * Starts Debian's docker-registry (the CNCF distribution registry) on
 * 127.0.0.1 with storage in a temp dir, and waits until `/v2/` answers.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const binary = requireCommand('docker-registry', 'the registry tests');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-registry-'));
  const storageDir = path.join(dir, 'storage');
  fs.mkdirSync(storageDir);
  const port = await freePort();
  const auth: string[] = [];
  if (options.basicAuth) {
    requireCommand('htpasswd', 'the registry basic-auth tests');
    const file = path.join(dir, 'htpasswd');
    fs.writeFileSync(file, `${htpasswdLine(options.basicAuth.username, options.basicAuth.password)}\n`);
    auth.push('auth:', '  htpasswd:', '    realm: alki-test', `    path: ${file}`);
  } else if (options.tokenAuth) {
    const t = options.tokenAuth;
    auth.push(
      'auth:',
      '  token:',
      `    realm: ${t.realm}`,
      `    service: ${t.service}`,
      `    issuer: ${t.issuer}`,
      `    rootcertbundle: ${t.rootCertBundle}`,
    );
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...auth,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'config.yml');
  fs.writeFileSync(configFile, config);
  const service = startProcess(binary, ['serve', configFile]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, { statuses: [200, 401] });
  } catch (error) {
    await service.stop();
    throw new Error(`docker-registry did not start: ${String(error)}\n${service.output()}`);
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    storageDir,
    blobFile(digest) {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    async stop() {
      await service.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
