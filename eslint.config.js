// ESLint (flat config): typescript-eslint's type-aware rules over the TypeScript, import cycles by eslint-plugin-import-x,
// and eslint-config-prettier last so that no rule argues with Prettier's formatting. `npm run lint` runs it with no
// warning allowed.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'build/', 'node_modules/', 'test-artifacts/', '.fxpipe/', 'coverage/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One program for every file: tsconfig.test.json includes src/, bench/, test/ and vitest.config.ts, so the types
        // are built once (three tsconfigs built src/ three times). The builds' own tsc runs keep each tsconfig's lib.
        project: ['./tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      // Off: here an async function without await is how a Promise-returning interface is met (a chunk's parse(), an
      // onAttempt callback) so that what it throws becomes a rejection; dropping `async` would make those throws synchronous.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // No import cycles among the modules that ship (src/) or measure them (bench/).
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // ESM TypeScript imports name the emitted '.js'; the resolver maps it back to the '.ts' source.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // Plain JavaScript (the bin launcher, this file): JavaScript's own rules, no type information.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['bin/*.js', '*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // The dashboard's script runs in the browser, with uPlot loaded by index.html beside it.
    files: ['src/serve/dashboard/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  prettier,
);
