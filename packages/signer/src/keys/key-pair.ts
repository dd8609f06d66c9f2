import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { SignerError } from '../errors.js';

/**
 * The cipher of encrypted private keys: PKCS#8 with PBES2 (PBKDF2-HMAC-SHA256
 * and AES-256-CBC), the form OpenSSL writes as `ENCRYPTED PRIVATE KEY`, so
 * `openssl pkey` and other Sigstore clients can read the key too.
 */
const PRIVATE_KEY_CIPHER = 'aes-256-cbc';

/** A key pair as keygen writes it: PEM text, never the raw key objects. */
export interface KeyPairPem {
  /** `-----BEGIN ENCRYPTED PRIVATE KEY-----`, PKCS#8 encrypted with the passphrase. */
  privateKeyPem: string;
  /** `-----BEGIN PUBLIC KEY-----`, SPKI. */
  publicKeyPem: string;
  /** The key's id: lower-case hex SHA-256 of its SPKI DER encoding. */
  keyId: string;
}

/**
 * A public key's id: the hex SHA-256 of its DER SubjectPublicKeyInfo. It is
 * the `hint` of key-signed Sigstore bundles and names signature files.
 *
 * @example
 * const id = keyIdOf(loadPublicKey(readFileSync('alki.pub', 'utf8')));
 */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function assertP256(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind =
      key.asymmetricKeyType === 'ec'
        ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}`
        : `a ${key.asymmetricKeyType ?? 'symmetric'} key`;
    throw new SignerError('INVALID_KEY', `${what} is ${kind}; Alki signs with ECDSA P-256 keys.`, {
      hint: 'Make a key pair with `alki keygen`.',
    });
  }
}

/**
 * A new ECDSA P-256 key pair, the private key encrypted with `passphrase`.
 *
 * @example
 * const pair = generateKeyPair('correct horse battery staple');
 * writeFileSync('alki.pub', pair.publicKeyPem);
 */
export function generateKeyPair(passphrase: string): KeyPairPem {
  if (passphrase.length === 0) {
    throw new SignerError('PASSPHRASE_MISSING', 'The passphrase for the new private key is empty.', {
      hint: 'Set ALKI_KEY_PASSPHRASE or type a passphrase at the prompt; an unencrypted key is not written.',
    });
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: PRIVATE_KEY_CIPHER,
      passphrase,
    }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyId: keyIdOf(publicKey),
  };
}

/**
 * Decrypts a PEM private key (encrypted PKCS#8, as keygen writes it). The
 * passphrase never appears in an error.
 *
 * @example
 * const key = loadPrivateKey(readFileSync('alki.key', 'utf8'), process.env.ALKI_KEY_PASSPHRASE ?? '');
 */
export function loadPrivateKey(pem: string, passphrase: string, label = 'the private key'): KeyObject {
  if (!pem.includes('PRIVATE KEY-----')) {
    throw new SignerError('INVALID_KEY', `${label} is not a PEM private key.`, {
      hint: 'Pass the .key file `alki keygen` wrote (the .pub file is for verifying).',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? '';
    // OpenSSL reports a wrong passphrase as a decryption or decoding failure;
    // an encrypted key that fails is almost always the passphrase.
    if (pem.includes('ENCRYPTED PRIVATE KEY')) {
      throw new SignerError('WRONG_PASSPHRASE', `The passphrase does not decrypt ${label}.`, {
        hint: 'Check ALKI_KEY_PASSPHRASE (or what you typed at the prompt).',
        details: { reason },
      });
    }
    throw new SignerError('INVALID_KEY', `${label} is not a PEM private key Alki can read.`, {
      hint: 'Make a key pair with `alki keygen`.',
      details: { reason },
    });
  }
  assertP256(key, label);
  return key;
}

/**
 * Parses a PEM public key (SPKI). Certificates are not accepted here: a
 * certificate is an identity, checked with --certificate-identity.
 *
 * @example
 * const key = loadPublicKey(readFileSync('alki.pub', 'utf8'));
 */
export function loadPublicKey(pem: string, label = 'the public key'): KeyObject {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new SignerError('INVALID_KEY', `${label} is not a PEM public key (BEGIN PUBLIC KEY).`, {
      hint: pem.includes('PRIVATE KEY')
        ? 'That is a private key: pass the .pub file `alki keygen` wrote, and keep the .key secret.'
        : 'Pass the .pub file `alki keygen` wrote.',
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new SignerError('INVALID_KEY', `${label} is not a PEM public key Alki can read.`, {
      hint: 'Pass the .pub file `alki keygen` wrote.',
      details: { reason: (error as NodeJS.ErrnoException).code ?? '' },
    });
  }
  assertP256(key, label);
  return key;
}
