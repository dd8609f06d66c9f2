// Shared Jest setup for every workspace package: ESM mode, @swc/jest, and
// `@alki/*` resolved to the sources so tests never run against a stale dist/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

/** @returns {import('jest').Config} */
export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    moduleNameMapper: {
      '^@alki/testkit$': path.join(root, 'tools/testkit/src/index.ts'),
      '^@alki/cli$': path.join(root, 'apps/cli/src/index.ts'),
      '^@alki/([a-z-]+)$': path.join(root, 'packages/$1/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testMatch: ['<rootDir>/src/**/*.test.ts'],
    testTimeout: 60_000,
    ...overrides,
  };
}
