import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_ENDPOINT, findToken, findTokenSource, hubCacheDir, resolveHubConfig } from './config.js';

describe('hubCacheDir', () => {
  it('follows huggingface_hub: HF_HUB_CACHE, then HUGGINGFACE_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/c', HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/h' })).toBe('/c');
    expect(hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/h' })).toBe('/legacy');
    expect(hubCacheDir({ HF_HOME: '/h', XDG_CACHE_HOME: '/x' })).toBe('/h/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    expect(hubCacheDir({ HF_HOME: '~/hf' })).toBe(path.join(os.homedir(), 'hf', 'hub'));
  });
});

describe('findToken', () => {
  it('prefers HF_TOKEN, then the legacy variable, then the token file', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hf-token-'));
    try {
      fs.writeFileSync(path.join(home, 'token'), 'hf_from_file\n');
      expect(findToken({ HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_legacy', HF_HOME: home })).toBe(
        'hf_env',
      );
      expect(findToken({ HUGGING_FACE_HUB_TOKEN: 'hf_legacy', HF_HOME: home })).toBe('hf_legacy');
      expect(findToken({ HF_HOME: home })).toBe('hf_from_file');
      fs.writeFileSync(path.join(home, 'elsewhere'), 'hf_elsewhere');
      expect(findToken({ HF_HOME: home, HF_TOKEN_PATH: path.join(home, 'elsewhere') })).toBe('hf_elsewhere');
      expect(findToken({ HF_HOME: path.join(home, 'missing') })).toBeUndefined();
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('says where the token comes from, for alki doctor to show instead of the token', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hf-token-'));
    try {
      fs.writeFileSync(path.join(home, 'token'), 'hf_from_file\n');
      expect(findTokenSource({ HF_TOKEN: ' ', HUGGING_FACE_HUB_TOKEN: 'hf_legacy', HF_HOME: home })).toEqual({
        token: 'hf_legacy',
        source: { variable: 'HUGGING_FACE_HUB_TOKEN' },
      });
      expect(findTokenSource({ HF_HOME: home })?.source).toEqual({ file: path.join(home, 'token') });
      fs.writeFileSync(path.join(home, 'token'), '\n');
      expect(findTokenSource({ HF_HOME: home })).toBeUndefined();
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('resolveHubConfig', () => {
  it('lets options win over the environment', () => {
    const config = resolveHubConfig({
      token: 'hf_opt',
      endpoint: 'http://127.0.0.1:1/',
      offline: false,
      env: { HF_TOKEN: 'hf_env', HF_ENDPOINT: 'http://127.0.0.1:2', HF_HUB_OFFLINE: '1' },
    });
    expect(config).toMatchObject({ token: 'hf_opt', endpoint: 'http://127.0.0.1:1', offline: false });
  });

  it('reads HF_ENDPOINT and HF_HUB_OFFLINE the way huggingface_hub does', () => {
    expect(resolveHubConfig({ env: { HF_ENDPOINT: 'http://127.0.0.1:2/' } }).endpoint).toBe(
      'http://127.0.0.1:2',
    );
    expect(resolveHubConfig({ env: { HF_HOME: '/nonexistent' } })).toMatchObject({
      endpoint: DEFAULT_ENDPOINT,
      offline: false,
      token: undefined,
    });
    for (const yes of ['1', 'ON', 'yes', 'True'])
      expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: yes } }).offline).toBe(true);
    for (const no of ['0', 'off', '', 'nope'])
      expect(resolveHubConfig({ env: { HF_HUB_OFFLINE: no } }).offline).toBe(false);
    expect(resolveHubConfig({ env: {} }).timeoutMs).toBe(10_000);
    expect(resolveHubConfig({ env: { HF_HUB_DOWNLOAD_TIMEOUT: '2.5' } }).timeoutMs).toBe(2500);
    expect(resolveHubConfig({ env: { HF_HUB_DOWNLOAD_TIMEOUT: 'soon' } }).timeoutMs).toBe(10_000);
  });
});
