// ESLint (typescript-eslint), run by `npm test`. Formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '**/__generated__/', '.outbox/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its error: the server's worst bug.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  // No import cycles: a module's dependencies load before it, whatever imports it first.
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Layering runs one way (CONTRIBUTING "Habits"): kit/ below everything (it reads only
      // the registry's data), subgraphs/ and gateway/ beside each other, the rest on top.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './kit', from: './subgraphs', except: ['./registry.ts'] },
            ...['./gateway', './sandbox', './scripts', './test', './bench'].map((from) => ({ target: './kit', from })),
            ...['./sandbox', './scripts', './test', './bench'].flatMap((from) => [
              { target: './subgraphs', from },
              { target: './gateway', from },
            ]),
            { target: './subgraphs', from: './gateway' },
            { target: './gateway', from: './subgraphs' },
          ],
        },
      ],
    },
  },
  // Tests read providers' untyped API specs and JSON answers.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
  prettier,
);
