import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OciError } from '../errors.js';

/** What a registry or token server accepts: a user and password, or an OAuth2 refresh token. */
export type Credentials = { username: string; password: string } | { identityToken: string };

/** Runs a credential helper with `input` on stdin. Injected so tests can use a fake helper script or none. */
export type HelperRunner = (
  program: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
) => Promise<{ status: number | null; stdout: string; stderr: string }>;

export interface CredentialLookupOptions {
  /** Explicit credentials (from flags) win over everything else. */
  explicit?: Credentials;
  /** The environment to read ALKI_REGISTRY_USERNAME/PASSWORD/TOKEN and DOCKER_CONFIG from, and to run helpers in (PATH). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The Docker config file. Default $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  dockerConfigPath?: string;
  runHelper?: HelperRunner;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

// Docker stores Docker Hub's credentials under its v1 index URL.
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'docker.io', 'index.docker.io']);

export const spawnHelper: HelperRunner = (program, args, input, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    // A helper that exits without reading stdin makes the write fail with
    // EPIPE; its exit status and output say what happened, so ignore that.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });

/** `host[:port]` for a key of `auths` written as a URL (`https://host/v1/`) or a bare host. */
function hostOfKey(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

function credentialsFromAuthEntry(
  entry: NonNullable<DockerConfig['auths']>[string],
): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  return undefined;
}

async function readDockerConfig(file: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (error) {
    throw new OciError('CREDENTIALS_UNAVAILABLE', `The Docker config ${file} is not valid JSON.`, {
      cause: error,
      details: { file },
    });
  }
}

// The docker-credential-helpers protocol: `docker-credential-<name> get`
// reads the server URL on stdin and prints {ServerURL, Username, Secret};
// Username "<token>" means Secret is an identity token.
async function fromHelper(
  helper: string,
  serverUrl: string,
  runHelper: HelperRunner,
  env: NodeJS.ProcessEnv,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  let result: Awaited<ReturnType<HelperRunner>>;
  try {
    result = await runHelper(program, ['get'], serverUrl, env);
  } catch (error) {
    throw new OciError(
      'CREDENTIALS_UNAVAILABLE',
      `The Docker credential helper ${program} could not be run.`,
      {
        cause: error,
        hint: `Install ${program}, or remove it from credHelpers/credsStore in your Docker config.`,
        details: { helper: program },
      },
    );
  }
  if (result.status !== 0) {
    // Helpers print "credentials not found" for a server they do not know: that means anonymous, not a failure.
    if (/not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new OciError(
      'CREDENTIALS_UNAVAILABLE',
      `The Docker credential helper ${program} failed: ${(result.stderr || result.stdout).trim()}`,
      { details: { helper: program, status: result.status } },
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch (error) {
    throw new OciError(
      'CREDENTIALS_UNAVAILABLE',
      `The Docker credential helper ${program} printed something that is not JSON.`,
      { cause: error, details: { helper: program } },
    );
  }
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

/**
 * Finds credentials for a registry host, in this order: explicit (flags),
 * the environment (ALKI_REGISTRY_USERNAME + ALKI_REGISTRY_PASSWORD, or
 * ALKI_REGISTRY_TOKEN), then the Docker config: `credHelpers[host]`, `auths`,
 * then `credsStore`. Undefined means anonymous.
 *
 * @example
 * const credentials = await findCredentials('ghcr.io', { env: process.env });
 */
export async function findCredentials(
  registry: string,
  options: CredentialLookupOptions = {},
): Promise<Credentials | undefined> {
  if (options.explicit) return options.explicit;
  const env = options.env ?? process.env;
  if (env.ALKI_REGISTRY_USERNAME && env.ALKI_REGISTRY_PASSWORD !== undefined)
    return { username: env.ALKI_REGISTRY_USERNAME, password: env.ALKI_REGISTRY_PASSWORD };
  if (env.ALKI_REGISTRY_TOKEN) return { identityToken: env.ALKI_REGISTRY_TOKEN };
  const file =
    options.dockerConfigPath ??
    path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  const config = await readDockerConfig(file);
  if (!config) return undefined;
  const host = registry.toLowerCase();
  const isHub = DOCKER_HUB_HOSTS.has(host);
  const runHelper = options.runHelper ?? spawnHelper;
  const helper = Object.entries(config.credHelpers ?? {}).find(
    ([key]) => hostOfKey(key) === host || (isHub && DOCKER_HUB_HOSTS.has(hostOfKey(key))),
  )?.[1];
  if (helper) return fromHelper(helper, isHub ? DOCKER_HUB_KEY : host, runHelper, env);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const keyHost = hostOfKey(key);
    if (keyHost === host || (isHub && DOCKER_HUB_HOSTS.has(keyHost))) {
      const found = credentialsFromAuthEntry(entry);
      if (found) return found;
    }
  }
  if (config.credsStore) return fromHelper(config.credsStore, isHub ? DOCKER_HUB_KEY : host, runHelper, env);
  return undefined;
}
