import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const drivers = ['@opentelemetry/*', 'hono', 'hono/*', 'express', 'fastify', 'koa', 'redis', 'ioredis', 'pg', 'better-sqlite3']

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/.work/**', 'bench/results/**', 'test/next/.next/**', 'test/next/next-env.d.ts', '.tmp/**', 'docs-site/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The core runs wherever WebCrypto runs: no node: modules, no frameworks, no drivers, no stores or adapters.
    files: ['src/core/**/*.ts', 'src/cookie/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', ...drivers], message: 'core/ must stay runtime-neutral: no node: modules, frameworks or drivers.' },
          { group: ['**/stores/**', '**/adapters/**', '**/http/**'], message: 'core/ must not depend on stores, http or adapters.' },
        ],
      }],
    },
  },
  {
    // Stores and adapters receive their driver or framework from the user: types only.
    files: ['src/stores/**/*.ts', 'src/adapters/**/*.ts', 'src/http/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: drivers, allowTypeImports: true, message: 'import drivers and frameworks as types only (optional peer dependencies).' }],
      }],
    },
  },
)
