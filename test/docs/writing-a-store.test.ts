// docs/writing-a-store.md, run: its example store and its conformance block, taken from the page as
// they are, register the store conformance suite here. A guide whose store stops keeping the
// contract, or whose suite options stop working, fails this file.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { codeBlocks, ROOT } from './markdown.js'

const GUIDE = 'docs/writing-a-store.md'
const blocks = codeBlocks(GUIDE)
const store = blocks.find((block) => block.code.includes('export class MapStore'))
const suite = blocks.find((block) => block.code.includes('defineStoreConformance('))
if (store === undefined || suite === undefined) {
  throw new Error(`${GUIDE} no longer shows a block with "export class MapStore" and one calling defineStoreConformance(; update this test with the page`)
}

// The page imports the published names; here they resolve to the sources. The suite's block gets the
// page's store where the page's hidden prelude only declared it.
const sources = (code: string): string =>
  code
    .replace(/from 'cloakroom\/testing'/g, `from '${join(ROOT, 'src/testing/index.ts')}'`)
    .replace(/from 'cloakroom'/g, `from '${join(ROOT, 'src/index.ts')}'`)
const dir = join(ROOT, '.tmp/doc-store')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'map-store.ts'), sources(store.code))
writeFileSync(join(dir, 'suite.ts'), `import { MapStore } from './map-store.js'\n${sources(suite.code)}\n`)
await import(join(dir, 'suite.ts'))
