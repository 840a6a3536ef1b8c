// Copies the files tsc does not emit into dist/ (the PostgreSQL schema for users who run their own migrations).
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import process from 'node:process'

const outDir = process.argv[2] ?? 'dist'
for (const file of ['stores/postgres/schema.sql']) {
  mkdirSync(dirname(join(outDir, file)), { recursive: true })
  copyFileSync(join('src', file), join(outDir, file))
}
