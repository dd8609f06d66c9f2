import { findCredentials, type CredentialLookupOptions, type Credentials } from './credentials.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';

export interface ConnectOptions
  extends Omit<RegistryClientOptions, 'registry' | 'credentials'>, Omit<CredentialLookupOptions, 'explicit'> {
  /** Credentials from flags; otherwise the environment and the Docker config are searched. */
  credentials?: Credentials;
}

/**
 * A RegistryClient for `registry` with credentials found the way Docker
 * finds them (flags, ALKI_REGISTRY_* variables, ~/.docker/config.json with
 * credHelpers and credsStore). Nothing is sent until the first request.
 *
 * @example
 * const client = await connectRegistry('ghcr.io', { env: process.env });
 * await client.ping();
 */
export async function connectRegistry(
  registry: string,
  options: ConnectOptions = {},
): Promise<RegistryClient> {
  const credentials = await findCredentials(registry, {
    explicit: options.credentials,
    env: options.env,
    dockerConfigPath: options.dockerConfigPath,
    runHelper: options.runHelper,
    helperTimeoutMs: options.helperTimeoutMs,
    signal: options.signal,
  });
  return new RegistryClient({ ...options, registry, credentials });
}
