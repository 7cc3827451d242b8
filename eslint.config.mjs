import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/.next/**',
      '**/dist/**',
      'packages/db/generated/**',
      '**/next-env.d.ts',
      '**/test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/consistent-type-definitions': ['error', 'type'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/generated\\u002F(sqlite|postgresql)/]',
          message: 'Only packages/db imports the generated Prisma client; import from @coolant/db.',
        },
      ],
    },
  },
  {
    files: ['packages/db/src/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['apps/console/src/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['**/*.mjs', 'scripts/**', '**/bin/**', '**/fake-bin/**', '**/test/fixtures/**'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'Buffer',
          'URL',
          'AbortSignal',
          'AbortController',
          'fetch',
          'SharedArrayBuffer',
          'Atomics',
          'performance',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);
