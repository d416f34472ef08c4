// One lint setup for every workspace: typescript-eslint recommended plus the promise rules that
// matter in a server (a floating promise is an unhandled rejection waiting to happen).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What domain/ must not import (exported for the rule's own test). */
export const DOMAIN_RESTRICTIONS = [
  {
    group: ['express', 'express/*', 'socket.io', 'socket.io/*', 'socket.io-client', 'socket.io-client/*'],
    message: 'domain/ knows no transport: express and socket.io belong in http/ and ws/.',
  },
  {
    group: [
      'pg',
      'pg/*',
      'pg-*',
      'ioredis',
      'ioredis/*',
      '@prisma/*',
      'prisma',
      '@concord/db',
      '@concord/db/*',
    ],
    message: 'domain/ knows no driver: declare a port in *.ports.ts and implement it in data-access/.',
  },
  {
    regex: '(^|/)data-access(/|$)',
    message: 'domain/ does not reach into data-access/: depend on a port that data-access implements.',
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', 'libs/db/generated/**', '.run/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.eslint.json', './libs/db/test/tsconfig.json', './proxy/*/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The proxy components are JavaScript checked by TypeScript (// @ts-check, checkJs): they get the
    // same promise rules as the services, through each component's tsconfig.
    files: ['proxy/**/*.js'],
    languageOptions: {
      parserOptions: {
        project: ['./proxy/*/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    // DESIGN.md section 1 / STYLE.md: domain/ imports no framework, driver or data access. It states
    // what it needs as a port (`*.ports.ts`) and main.ts passes the implementation in.
    files: ['**/src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: DOMAIN_RESTRICTIONS }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
