import { connectRegistry, parseLayoutReference, parseReference, type ConnectOptions } from '@alki/oci';
import type { PublishedBundleSource } from '@alki/signer';
import { lstatSync } from 'node:fs';
import { CliError } from '../errors.js';
import type { Argv } from 'yargs';
import type { GlobalOptions } from '../context.js';
import type { Output } from '../output.js';

/** Flags every registry command takes: how to reach and log in to the registry. */
export interface RegistryFlags extends GlobalOptions {
  plainHttp?: boolean;
  username?: string;
  passwordStdin: boolean;
  stallTimeout: number;
}

export function withRegistryFlags<T extends GlobalOptions>(y: Argv<T>): Argv<T & RegistryFlags> {
  return y
    .option('plain-http', {
      type: 'boolean',
      describe: 'Talk http:// instead of https:// (default for localhost and 127.0.0.1)',
    })
    .option('username', {
      alias: 'u',
      type: 'string',
      describe: 'Registry user name (else ALKI_REGISTRY_USERNAME, else ~/.docker/config.json)',
    })
    .option('password-stdin', {
      type: 'boolean',
      default: false,
      describe: 'Read the password or token for --username from stdin',
    })
    .option('stall-timeout', {
      type: 'number',
      default: 30,
      describe:
        'Seconds the registry may send nothing before the transfer counts as broken and is retried or resumed',
    })
    .check((argv) =>
      Number(argv['stall-timeout']) > 0 ? true : '--stall-timeout takes a number of seconds above 0.',
    ) as unknown as Argv<T & RegistryFlags>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * Connect options from the flags: explicit credentials win; otherwise the
 * library searches env and Docker config. `signal` stops a credential helper
 * that is still running when the user interrupts.
 */
export async function connectOptions(
  argv: RegistryFlags,
  out: Output,
  signal: AbortSignal,
): Promise<ConnectOptions> {
  const options: ConnectOptions = {
    onEvent: (message) => out.debug(message),
    stallTimeoutMs: argv.stallTimeout * 1000,
    signal,
  };
  if (argv.plainHttp !== undefined) options.plainHttp = argv.plainHttp;
  if (argv.username !== undefined) {
    const password = argv.passwordStdin ? await readStdin() : (process.env.ALKI_REGISTRY_PASSWORD ?? '');
    options.credentials = { username: argv.username, password };
  }
  return options;
}

/**
 * True when a command's target names a published bundle rather than a
 * directory: nothing at that path (not even a dangling link), and it starts
 * with a registry host (`host.name/`, `host:port/`, `localhost/`) or `oci:`.
 * Anything else stays a path, so a missing directory is reported as one.
 */
export function isRegistryTarget(target: string): boolean {
  try {
    lstatSync(target);
    return false;
  } catch {
    const host = target.split('/')[0];
    return (
      target.includes('/') &&
      !target.startsWith('.') &&
      (host.includes('.') || host.includes(':') || host === 'localhost')
    );
  }
}

/**
 * A published bundle that `host/repo[:tag|@sha256:...]` names, connected with
 * the registry flags (tag default: latest). Signatures live in a registry, as
 * OCI 1.1 referrers: an `oci:DIR` layout is refused with a usage error.
 */
export async function openPublishedBundle(
  text: string,
  argv: RegistryFlags,
  out: Output,
  signal: AbortSignal,
): Promise<PublishedBundleSource> {
  if (parseLayoutReference(text))
    throw new CliError(
      'USAGE',
      `${text} is an OCI image layout; signatures are attached to bundles in a registry (OCI 1.1 referrers).`,
      { hint: 'Sign or verify the bundle directory, or publish it to a registry first.' },
    );
  const parsed = parseReference(text);
  const client = await connectRegistry(parsed.registry, await connectOptions(argv, out, signal));
  return { client, repository: parsed.repository, reference: parsed.digest ?? parsed.tag ?? 'latest' };
}
