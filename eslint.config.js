// Lint runs as part of `npm test`; type-aware rules catch floating promises in the loops.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.berth/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'etcd3', message: 'only src/store imports etcd3' },
          { name: 'dockerode', message: 'only src/agent imports dockerode' },
          { name: 'isomorphic-git', message: 'only src/sync imports isomorphic-git' },
          { name: 'commander', message: 'only src/cli imports commander' },
          { name: 'pino', message: 'only src/log.ts imports pino' },
        ],
      }],
    },
  },
  { files: ['src/store/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/agent/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/sync/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/cli/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/log.ts'], rules: { 'no-restricted-imports': 'off' } },
);
