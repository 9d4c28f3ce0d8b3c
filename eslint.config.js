import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  { files: ['web/**'], languageOptions: { globals: { ...globals.browser } } },
  {
    // The API's schemas are the web app's types too: they may use TypeBox and the domain only, so
    // that the web's type check never reaches server code.
    files: ['src/http/schemas.ts', 'src/http/schemas/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@sinclair/typebox$|(\\.\\./)+domain/|\\./[\\w-]+\\.js$|\\.\\./schemas\\.js$)',
              message:
                'API schemas import TypeBox, the domain and other schemas only (the web app reads them).',
            },
          ],
        },
      ],
    },
  },
  {
    // The web app shares the server's pure domain (values) and its API schemas (types only, so no
    // server code reaches the bundle); nothing else of src/.
    files: ['web/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/src/http/schemas(\\.ts$|/)',
              allowTypeImports: true,
              message:
                'Import the API schemas as types only (import type / export type): values would bundle server code.',
            },
            {
              regex: '/src/(?!domain/|http/schemas(\\.ts$|/))',
              message: 'The web app may import src/domain (values) and src/http/schemas (types) only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The phone's wallet also runs the card application and its link: the browser-safe modules of
    // src/cards (decision 0021, test/cards/browser-bundle.test.ts), and nothing else of src/.
    files: ['web/src/wallet/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/src/http/schemas(\\.ts$|/)',
              allowTypeImports: true,
              message:
                'Import the API schemas as types only (import type / export type): values would bundle server code.',
            },
            {
              regex:
                '/src/(?!domain/|http/schemas(\\.ts$|/)|cards/emulator/(piv-card-application|web-card-crypto|card-state)\\.ts$|cards/transport/wallet-link\\.ts$)',
              message:
                'The wallet may import src/domain, the API schemas (types) and the browser-safe card application and link only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: it may not reach for I/O, the clock or other layers.
    files: ['src/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', '../store/*', '../http/*', '../services/*', '../pki/*', '../cards/*'] },
      ],
    },
  },
);
