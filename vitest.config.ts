import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // The package's `#crypto` import picks an implementation by export condition; tests on Node use node:crypto.
    alias: { '#crypto': fileURLToPath(new URL('./src/crypto/node.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
})
