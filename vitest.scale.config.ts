import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// The scale-out suite (`npm run test:scale`): separate from `npm test`, one file, run in a process
// of its own (it starts a Redis Cluster and app processes, and cleans up on exit).
export default defineConfig({
  resolve: {
    alias: { '#crypto': fileURLToPath(new URL('./src/crypto/node.ts', import.meta.url)) },
  },
  test: {
    include: ['test/scale/**/*.scale.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
