import { describe, expect, it } from '@jest/globals';
import { resolveLicense } from './license.js';

describe('resolveLicense', () => {
  it('maps hub license ids to canonical SPDX ids', () => {
    expect(resolveLicense('apache-2.0')).toEqual({ expression: 'Apache-2.0', isReference: false });
    expect(resolveLicense('mit').expression).toBe('MIT');
    expect(resolveLicense('cc-by-nc-4.0').expression).toBe('CC-BY-NC-4.0');
    expect(resolveLicense('gpl-3.0').expression).toBe('GPL-3.0-only');
    expect(resolveLicense('Apache-2.0').expression).toBe('Apache-2.0');
  });

  it('turns model-specific licenses into LicenseRefs', () => {
    expect(resolveLicense('llama3.1')).toEqual({ expression: 'LicenseRef-llama3.1', isReference: true });
    expect(resolveLicense('gemma')).toEqual({ expression: 'LicenseRef-gemma', isReference: true });
    expect(resolveLicense('other').expression).toBe('LicenseRef-other');
  });

  it('says NOASSERTION when nothing is known', () => {
    expect(resolveLicense(null).expression).toBe('NOASSERTION');
    expect(resolveLicense('  ').expression).toBe('NOASSERTION');
    expect(resolveLicense('unknown').expression).toBe('NOASSERTION');
  });
});
