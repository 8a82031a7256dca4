// Lint rules: typescript-eslint's recommended set, no console in library code, and the package
// dependency direction (proto <- lattice <- host; cli and providers never import host).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'proto/gen/**',
      '**/build/**',
      '**/node_modules/**',
      'host/native/**',
      'actors/**/assembly/**',
      'test/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['cli/**/*.ts', 'providers/**/*.ts', 'lattice/**/*.ts', 'proto/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@wasmesh/host', '@wasmesh/host/*'],
              message: 'only the host (and tests/benches) may import @wasmesh/host',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        module: 'writable',
        require: 'readonly',
        Buffer: 'readonly',
      },
    },
  },
  {
    files: ['bench/**/*.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
