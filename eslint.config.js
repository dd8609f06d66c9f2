import tseslint from 'typescript-eslint';
import alki from './tools/eslint-plugin/src/index.js';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '!eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked by the tsconfig that owns it (the package's tsconfig.spec.json through its
        // solution-style tsconfig.json), so the rules see the same types the compiler does.
        projectService: {
          // A declaration beside a plain .mjs script, outside every tsconfig.
          allowDefaultProject: ['packages/quantizer/scripts/*.d.mts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { alki },
    rules: {
      'alki/no-import-cycles': 'error',
      // Already in recommendedTypeChecked; named so that no change of preset can drop it.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A rejection is judged as `throw` is by only-throw-error's defaults: forwarding an AbortSignal's `reason`
      // (typed `any` by the DOM lib, an Error wherever Alki aborts) is fine, a string or number literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../packages/*', '../../../packages/*', '../../apps/*'],
              message: 'Depend on another package through its @alki/ name.',
            },
          ],
        },
      ],
    },
  },
  {
    // A test's fake of an injected async dependency (fetch, sleep, a probe) returns a canned value from an
    // async function: awaiting nothing is what a fake does. require-await keeps watch over the code itself.
    files: ['**/*.test.ts', '**/__fixtures__/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // The config itself is plain JavaScript outside every tsconfig, and assembly/ is AssemblyScript, whose
    // types (f32, usize, load<T>) TypeScript does not know: both are linted without type information.
    files: ['eslint.config.js', 'packages/quantizer/assembly/**'],
    ...tseslint.configs.disableTypeChecked,
  },
);
