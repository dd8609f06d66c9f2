import { afterAll, describe, expect, it } from '@jest/globals';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  generateKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  SignerError,
  writeKeyPair,
} from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-keys-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('generateKeyPair', () => {
  it('writes an encrypted PKCS#8 private key and an SPKI public key of one P-256 pair', () => {
    const pair = generateKeyPair('open sesame');
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const privateKey = loadPrivateKey(pair.privateKeyPem, 'open sesame');
    expect(keyIdOf(createPublicKey(privateKey))).toBe(pair.keyId);
    expect(keyIdOf(loadPublicKey(pair.publicKeyPem))).toBe(pair.keyId);
    expect(pair.keyId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses an empty passphrase rather than write an unencrypted key', () => {
    expect(() => generateKeyPair('')).toThrow(expect.objectContaining({ code: 'PASSPHRASE_MISSING' }));
  });
});

describe('loadPrivateKey', () => {
  it('says the passphrase is wrong, without quoting it', () => {
    const pair = generateKeyPair('right one');
    let caught: unknown;
    try {
      loadPrivateKey(pair.privateKeyPem, 'wrong guess');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SignerError);
    expect((caught as SignerError).code).toBe('WRONG_PASSPHRASE');
    expect(JSON.stringify((caught as SignerError).toJSON())).not.toContain('wrong guess');
  });

  it('refuses keys on other curves and algorithms', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ed = generateKeyPairSync('ed25519');
    expect(() => loadPublicKey(p384.publicKey.export({ type: 'spki', format: 'pem' }) as string)).toThrow(
      /EC key on secp384r1; Alki signs with ECDSA P-256/,
    );
    expect(() =>
      loadPrivateKey(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, ''),
    ).toThrow(/ed25519 key/);
  });

  it('points a private key given as a public key at the .pub file', () => {
    const pair = generateKeyPair('x');
    expect(() => loadPublicKey(pair.privateKeyPem)).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY', hint: expect.stringContaining('.pub') }),
    );
  });
});

describe('writeKeyPair', () => {
  it('writes the private key readable by its owner only, and never overwrites without force', async () => {
    const prefix = path.join(work, 'alki');
    const written = await writeKeyPair(prefix, generateKeyPair('pw'));
    expect(statSync(written.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(written.publicKeyPath, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const before = readFileSync(written.privateKeyPath, 'utf8');
    await expect(writeKeyPair(prefix, generateKeyPair('pw'))).rejects.toMatchObject({ code: 'KEY_EXISTS' });
    expect(readFileSync(written.privateKeyPath, 'utf8')).toBe(before);
    const replaced = await writeKeyPair(prefix, generateKeyPair('pw'), { force: true });
    expect(readFileSync(replaced.privateKeyPath, 'utf8')).not.toBe(before);
    expect(statSync(replaced.privateKeyPath).mode & 0o777).toBe(0o600);
  });

  it('says which file is in the way when only the public key exists', async () => {
    const prefix = path.join(work, 'half');
    writeFileSync(`${prefix}.pub`, 'someone else');
    await expect(writeKeyPair(prefix, generateKeyPair('pw'))).rejects.toMatchObject({
      code: 'KEY_EXISTS',
      details: { file: `${prefix}.pub` },
    });
  });
});
