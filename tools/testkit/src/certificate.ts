import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommand } from './require-command.js';

export interface SelfSignedCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate, PEM. */
  cert: Buffer;
  /** Its unencrypted private key, PEM. */
  key: Buffer;
}

/**
 * A self-signed certificate and key made by openssl in `dir`, valid for two
 * days: `newkey` is openssl's `-newkey` argument (`rsa:2048`, `ec`: P-256),
 * `altNames` its subjectAltName entries (`IP:127.0.0.1`).
 */
export function selfSignedCertificate(
  dir: string,
  options: { commonName: string; newkey?: 'rsa:2048' | 'ec'; altNames?: string[]; purpose: string },
): SelfSignedCertificate {
  const openssl = requireCommand('openssl', options.purpose);
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const keyArgs =
    options.newkey === 'ec'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-newkey', 'rsa:2048'];
  const made = spawnSync(
    openssl,
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${options.commonName}`,
      ...(options.altNames ? ['-addext', `subjectAltName=${options.altNames.join(',')}`] : []),
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0)
    throw new Error(`openssl could not make a certificate for ${options.purpose}: ${made.stderr}`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}
